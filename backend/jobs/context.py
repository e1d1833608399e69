"""What a running task can reach."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.jobs.queue import DatabaseQueue
from backend.jobs.reporter import Reporter
from backend.storage import BlobStore

MAX_JOB_MINUTES = 24 * 60


def budget_minutes(params: dict[str, Any], default: float) -> float:
    """The minutes asked for; without them the default, or with only a step (or epoch) count
    a day at most: a job must not hold a worker that every collection shares for weeks."""
    if params.get("minutes"):
        return float(params["minutes"])
    if params.get("steps") or params.get("epochs"):
        return MAX_JOB_MINUTES
    return default


@dataclass
class JobContext:
    settings: Settings
    factory: sessionmaker[Session]
    store: BlobStore
    queue: DatabaseQueue
    reporter: Reporter
    worker: str | None = None  # the name the job was claimed under

    def progress_callback(self, offset: float = 0.0, scale: float = 1.0):  # type: ignore[no-untyped-def]
        """An ``on_progress`` for the learning core; maps its 0..1 into [offset, offset+scale]."""

        def on_progress(p) -> None:  # type: ignore[no-untyped-def]
            eta = p.eta_s if p.eta_s is None else p.eta_s * scale + 0.0
            self.reporter.update(offset + scale * p.fraction, eta, p.metrics, p.step)

        return on_progress

    def save_checkpoint(self, checkpoint) -> str:  # type: ignore[no-untyped-def]
        """Store a checkpoint as a blob. The blob is whole before any row names it: a crash
        here leaves an unreferenced blob (swept at start-up), never a registered half file."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            checkpoint.save(path)
            data = path.read_bytes()
        key, _ = self.store.put(data)
        return key
