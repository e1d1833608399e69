"""Ending a job in the transaction that registers its result."""

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.orm import Job, JobStatus
from backend.orm._types import utcnow


def end_job(db: Session, job_id: int, worker: str | None) -> bool:
    """End a running job as succeeded in the caller's transaction, as its first write, if it
    is still ``worker``'s and not cancelled; False when it is not (see ``ended_elsewhere``).
    A task that registers something does this in the registering transaction, so that a
    cancel the API acknowledged always wins and one that comes later finds the job ended."""
    return bool(
        db.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == JobStatus.running.value,
                Job.worker == worker,
                Job.cancel_requested.is_(False),
            )
            .values(
                status=JobStatus.succeeded.value,
                finished_at=utcnow(),
                progress=1.0,
                eta_seconds=0.0,
                worker=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def ended_elsewhere(db: Session, job_id: int) -> str:
    """Why ``end_job`` found the job no longer running: a cancel, or a requeue after a missed
    heartbeat (the job's next run registers instead)."""
    job = db.get(Job, job_id)
    return "cancelled" if job is None or job.cancel_requested else "interrupted"
