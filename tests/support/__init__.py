"""Helpers shared by the test suite (throwaway servers and the like); holds no tests of its own."""
