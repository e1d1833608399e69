"""Benchmarks of the service: ``python -m backend.bench loop --data ../shared/data/dsb2018``."""
