"""Background jobs: the database row is both the queue entry and the progress record."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse

if TYPE_CHECKING:
    from backend.orm.accounts import User


class JobKind(StrEnum):
    pretrain = "pretrain"
    train = "train"
    predict = "predict"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"), no_id_reuse())

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why it was started: "manual", "auto: 5 new annotations", "after model 3", ...
    trigger: Mapped[str] = mapped_column(String(128), default="manual")
    progress: Mapped[float] = mapped_column(default=0.0)
    eta_seconds: Mapped[float | None]
    # {"loss": [[step, value], ...], "val_dice": [[epoch, value], ...], ...}
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    creator: Mapped["User | None"] = relationship(lazy="joined")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the job produced. Plain ids, not foreign keys: those tables point back at jobs, and a
    # cycle of foreign keys would complicate every migration for no gain.
    model_id: Mapped[int | None]
    encoder_id: Mapped[int | None]

    @property
    def created_by(self) -> str | None:
        return self.creator.username if self.creator else None


class Worker(Base):
    """A worker process that is (or was lately) polling the queue.

    Each worker beats here while it runs, idle or not, so the service can tell "jobs wait
    because every worker is busy" from "jobs wait because no worker runs at all", which an
    admin of a ``MASKLOOP_WORKER=none`` deployment otherwise only learns by staring at a queued
    job. The row goes when the worker stops cleanly; a killed worker's row just stops beating.
    """

    __tablename__ = "workers"

    # worker_name(): "prefix@host:pid", the same string its claimed jobs carry in Job.worker.
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The job it runs now; a plain id, as Job.model_id is.
    job_id: Mapped[int | None]
