"""Ending a job's row: by the worker when a task returns, or by the task itself in the
transaction that registers its result. Both are conditional on the row still being the
worker's running job, so a cancel or a requeue that came first is never overwritten."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.orm import Job, JobStatus
from backend.orm._types import utcnow


def _ended(status: str, error: str | None = None) -> dict[str, Any]:
    succeeded = status == JobStatus.succeeded.value
    return {
        "status": status,
        "error": error,
        "finished_at": utcnow(),
        "worker": None,
        "eta_seconds": 0.0 if succeeded else None,
        **({"progress": 1.0} if succeeded else {}),
    }


def _still_running(job_id: int, worker: str | None) -> list[Any]:
    return [Job.id == job_id, Job.status == JobStatus.running.value, Job.worker == worker]


def finish(
    factory: sessionmaker[Session], job_id: int, worker: str | None, status: str, error: str | None
) -> None:
    """End the row, unless it is no longer this worker's: a training ends its row itself in
    the transaction that registers its version, and a job requeued after a missed heartbeat
    belongs to whichever worker claims it next."""
    with factory() as db:
        ended = update(Job).where(*_still_running(job_id, worker)).values(**_ended(status, error))
        db.execute(ended)
        db.commit()


def end_job(db: Session, job_id: int, worker: str | None) -> bool:
    """End a running job as succeeded in the caller's transaction, as its first write, if it
    is still ``worker``'s and not cancelled; False when it is not (see ``ended_elsewhere``).
    A task that registers something does this in the registering transaction, so that a
    cancel the API acknowledged always wins and one that comes later finds the job ended."""
    return bool(
        db.execute(
            update(Job)
            .where(*_still_running(job_id, worker), Job.cancel_requested.is_(False))
            .values(**_ended(JobStatus.succeeded.value))
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def ended_elsewhere(db: Session, job_id: int) -> str:
    """Why ``end_job`` found the job no longer running: a cancel, or a requeue after a missed
    heartbeat (the job's next run registers instead)."""
    job = db.get(Job, job_id)
    return "cancelled" if job is None or job.cancel_requested else "interrupted"
