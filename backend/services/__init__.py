"""Domain logic, independent of HTTP: routes and the CLI call these."""
