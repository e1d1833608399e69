"""The job queue. ``JobQueue`` is the seam for other engines (a later issue adds workers on other
machines through an existing queue engine); ``DatabaseQueue`` keeps the queue in the jobs table,
which works the same on SQLite and PostgreSQL and needs nothing else running."""

import socket
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from backend.orm import Collection, Job, JobKind, JobStatus
from backend.orm._types import as_utc, utcnow

TRAINING_KINDS = (JobKind.pretrain.value, JobKind.train.value)
MAX_ATTEMPTS = 3


class JobQueue(Protocol):
    def enqueue(
        self,
        db: Session,
        collection_id: int,
        kind: JobKind,
        params: dict[str, Any],
        user_id: int | None,
        trigger: str,
    ) -> Job: ...

    def claim(self, db: Session, worker: str) -> Job | None: ...

    def requeue_interrupted(
        self, db: Session, stale_after_s: float, embedded_only: bool
    ) -> int: ...


def worker_name(prefix: str = "worker", pid: int | None = None) -> str:
    """How a worker process signs the jobs it claims (``pid``: another process's name)."""
    import os

    return f"{prefix}@{socket.gethostname()}:{os.getpid() if pid is None else pid}"


class DatabaseQueue:
    def enqueue(
        self,
        db: Session,
        collection_id: int,
        kind: JobKind,
        params: dict[str, Any],
        user_id: int | None,
        trigger: str = "manual",
    ) -> Job:
        job = Job(
            collection_id=collection_id,
            kind=kind.value,
            status=JobStatus.queued.value,
            params=params,
            trigger=trigger[:128],
            created_by_id=user_id,
            metrics={},
            log_tail="",
        )
        db.add(job)
        db.flush()
        return job

    def _busy_collections(self, db: Session) -> set[int]:
        rows = db.scalars(
            select(Job.collection_id).where(
                Job.status == JobStatus.running.value, Job.kind.in_(TRAINING_KINDS)
            )
        )
        return set(rows)

    def claim(self, db: Session, worker: str) -> Job | None:
        """Take the oldest runnable job. At most one pretrain/train per collection runs at once.

        The claim is a conditional UPDATE (status still 'queued'), so two workers can never both
        win the same job, on SQLite or PostgreSQL.
        """
        busy = self._busy_collections(db)
        queued = db.scalars(
            select(Job).where(Job.status == JobStatus.queued.value).order_by(Job.id).limit(50)
        ).all()
        for job in queued:
            if job.kind in TRAINING_KINDS and job.collection_id in busy:
                continue
            if (
                db.bind is not None
                and db.bind.dialect.name == "postgresql"
                and job.kind in TRAINING_KINDS
            ):
                # Serialise claims per collection across workers on other machines.
                db.execute(
                    select(Collection.id)
                    .where(Collection.id == job.collection_id)
                    .with_for_update()
                )
                if job.collection_id in self._busy_collections(db):
                    continue
            now = utcnow()
            claimable = [Job.id == job.id, Job.status == JobStatus.queued.value]
            if job.kind in TRAINING_KINDS:
                # In the same statement as the claim: SQLite runs one writer at a time, so
                # no other worker can start a training of this collection in between.
                running = aliased(Job)
                claimable.append(
                    ~exists().where(
                        running.collection_id == job.collection_id,
                        running.status == JobStatus.running.value,
                        running.kind.in_(TRAINING_KINDS),
                    )
                )
            won = db.execute(
                update(Job)
                .where(*claimable)
                .values(
                    status=JobStatus.running.value,
                    worker=worker,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=Job.attempts + 1,
                )
            ).rowcount
            db.commit()
            if won == 1:
                db.refresh(job)
                return job
            if job.kind in TRAINING_KINDS:
                busy.add(job.collection_id)  # lost to a training that started meanwhile
        db.commit()
        return None

    def requeue_interrupted(
        self, db: Session, stale_after_s: float, embedded_only: bool = False
    ) -> int:
        """Jobs marked running whose worker is gone go back to the queue (or fail after
        MAX_ATTEMPTS). With ``embedded_only``, every job of an embedded worker counts as gone:
        the embedded worker dies with the server that is now restarting."""
        cutoff = utcnow() - timedelta(seconds=stale_after_s)
        running = db.scalars(select(Job).where(Job.status == JobStatus.running.value)).all()
        count = 0
        for job in running:
            beat = None if job.heartbeat_at is None else as_utc(job.heartbeat_at)
            embedded = (job.worker or "").startswith("embedded@")
            if not ((embedded_only and embedded) or beat is None or beat < cutoff):
                continue
            _requeue(job)
            count += 1
        db.commit()
        return count

    def requeue_worker(self, db: Session, worker: str) -> int:
        """The running jobs of a worker known to be dead (its process exited)."""
        running = db.scalars(
            select(Job).where(Job.status == JobStatus.running.value, Job.worker == worker)
        ).all()
        for job in running:
            _requeue(job)
        db.commit()
        return len(running)


def _requeue(job: Job) -> None:
    note = f"interrupted (worker {job.worker} stopped); "
    if job.attempts >= MAX_ATTEMPTS:
        job.status = JobStatus.failed.value
        job.error = f"interrupted {job.attempts} times; giving up"
        job.finished_at = utcnow()
        note += "failed"
    else:
        job.status = JobStatus.queued.value
        job.progress = 0.0
        job.eta_seconds = None
        note += "requeued"
    job.worker = None
    job.log_tail = (job.log_tail + note + "\n")[-4000:]
