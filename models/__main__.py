"""``python -m models pretrain|train|predict``."""

from models.cli import app

app(prog_name="python -m models")
