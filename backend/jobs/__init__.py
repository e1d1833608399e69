"""Background jobs: a queue interface, the database-backed queue, and the worker that runs them."""
