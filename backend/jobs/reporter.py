"""A running job's link to its row: progress, metric history, log tail, cancellation."""

import math
import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.orm import Job
from backend.orm._types import utcnow

_WRITE_EVERY_S = 0.5
_MAX_POINTS = 400
_LOG_CHARS = 4000


class JobCancelled(Exception):
    pass


def _thin(points: list[list[float]]) -> list[list[float]]:
    """Keep long curves bounded: drop every other point once over the limit, keep the last."""
    if len(points) <= _MAX_POINTS:
        return points
    return [*points[:-1:2], points[-1]]


class Reporter:
    """Buffers updates in memory and writes them at most every half second, so a fast training
    loop does not hammer the database; ``flush`` writes at once."""

    def __init__(self, factory: sessionmaker[Session], job_id: int) -> None:
        self.factory = factory
        self.job_id = job_id
        self.progress = 0.0
        self.eta: float | None = None
        self.metrics: dict[str, list[list[float]]] = {}
        self.log_lines: list[str] = []
        self.cancelled = False
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._lock = threading.Lock()

    def update(
        self, fraction: float, eta_s: float | None, metrics: dict[str, float], x: float
    ) -> None:
        for name, value in metrics.items():
            if not math.isfinite(value):
                raise FloatingPointError(f"{name} became {value} at step {int(x)}")
            self.metrics[name] = _thin([*self.metrics.get(name, []), [x, round(float(value), 6)]])
        with self._lock:
            self.progress = max(self.progress, min(1.0, fraction))
            self.eta = eta_s
        if time.monotonic() - self._last_write >= _WRITE_EVERY_S:
            self.flush()

    def log(self, line: str) -> None:
        self.log_lines.append(f"{utcnow():%H:%M:%S} {line}")
        self.flush()

    def flush(self, **fields: Any) -> None:
        with self._lock, self.factory() as db:
            job = db.get(Job, self.job_id)
            if job is None:
                return
            job.progress = self.progress
            job.eta_seconds = self.eta
            job.metrics = {k: list(v) for k, v in self.metrics.items()}
            if self.log_lines:
                job.log_tail = (job.log_tail + "\n".join(self.log_lines) + "\n")[-_LOG_CHARS:]
                self.log_lines = []
            job.heartbeat_at = utcnow()
            for key, value in fields.items():
                setattr(job, key, value)
            self.cancelled = self.cancelled or job.cancel_requested
            db.commit()
            self._last_write = time.monotonic()

    def should_stop(self) -> bool:
        """Polled by the training loop; reads the cancel flag at most once a second."""
        if not self.cancelled and time.monotonic() - self._last_cancel_check >= 1.0:
            self._last_cancel_check = time.monotonic()
            with self.factory() as db:
                job = db.get(Job, self.job_id)
                self.cancelled = job is None or job.cancel_requested
        return self.cancelled

    def heartbeat(self) -> None:
        with self._lock, self.factory() as db:
            job = db.get(Job, self.job_id)
            if job is not None:
                job.heartbeat_at = utcnow()
                db.commit()
