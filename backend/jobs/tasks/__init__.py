"""One module per job kind; each exposes ``run(ctx, job_id)``."""
