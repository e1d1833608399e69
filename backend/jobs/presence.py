"""Which worker processes are polling the queue: each one beats in the ``workers`` table.

A queued job looks the same whether every worker is busy or none runs at all; the second is
what a ``MASKLOOP_WORKER=none`` deployment without ``maskloop worker`` looks like, and nothing
else would ever say so. The beat runs in its own thread, idle or not, so a worker deep in a
training still counts as present.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.orm import Worker
from backend.orm._types import as_utc, utcnow

log = logging.getLogger("maskloop.worker")
BEAT_S = 10.0
# A row not refreshed for this long belongs to a worker that is long gone; its start prunes it.
_FORGET_AFTER = timedelta(days=1)


def listed(db: Session) -> list[Worker]:
    """Every row, oldest worker first: alive ones and killed ones that never signed off."""
    return list(db.scalars(select(Worker).order_by(Worker.started_at, Worker.name)))


def is_alive(worker: Worker, within_s: float) -> bool:
    # Compared in Python: SQLite hands back naive datetimes (as_utc).
    return as_utc(worker.last_seen_at) >= utcnow() - timedelta(seconds=within_s)


def alive(db: Session, within_s: float) -> list[Worker]:
    """Workers seen within ``within_s`` seconds, oldest first."""
    return [w for w in listed(db) if is_alive(w, within_s)]


def alive_on_host(db: Session, host: str, within_s: float) -> list[Worker]:
    return [w for w in alive(db, within_s) if w.host == host]


class Presence:
    """Keeps one worker's row fresh until ``stop()``, which removes it."""

    def __init__(self, factory: sessionmaker[Session], name: str, beat_s: float = BEAT_S) -> None:
        self.factory = factory
        self.name = name
        self.beat_s = beat_s
        self.job_id: int | None = None
        self.started_at = utcnow()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    def start(self) -> "Presence":
        with self.factory() as db:
            db.execute(delete(Worker).where(Worker.last_seen_at < utcnow() - _FORGET_AFTER))
            db.commit()
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        """Refresh the row, writing it anew if it is gone (pruned, or the table was emptied)."""
        now = utcnow()
        try:
            with self.factory() as db:
                done = db.execute(
                    update(Worker)
                    .where(Worker.name == self.name)
                    .values(last_seen_at=now, job_id=self.job_id)
                )
                if done.rowcount == 0:  # type: ignore[attr-defined]
                    db.add(
                        Worker(
                            name=self.name,
                            host=socket.gethostname()[:255],
                            pid=os.getpid(),
                            started_at=self.started_at,
                            last_seen_at=now,
                            job_id=self.job_id,
                        )
                    )
                db.commit()
        except IntegrityError:
            pass  # written by a beat of ours that raced this one: fresh either way
        except SQLAlchemyError as exc:
            # A database that is briefly away must not kill the worker; the next beat retries.
            log.warning("worker %s could not beat: %s", self.name, exc)

    def _run(self) -> None:
        while not self._stopped.wait(self.beat_s):
            self.beat()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            with self.factory() as db:
                db.execute(delete(Worker).where(Worker.name == self.name))
                db.commit()
        except SQLAlchemyError as exc:
            log.warning("worker %s could not sign off: %s", self.name, exc)
