"""Automatic pretraining and retraining, debounced: a trigger during a training is remembered
and fires when it ends; a running training is never interrupted by a new annotation."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.jobs.queue import DatabaseQueue
from backend.orm import (
    Annotation,
    Collection,
    Encoder,
    Image,
    Job,
    JobKind,
    JobStatus,
    ModelVersion,
)

_OPEN = (JobStatus.queued.value, JobStatus.running.value)


def _open_job(db: Session, collection_id: int, kind: JobKind) -> Job | None:
    return db.scalar(
        select(Job)
        .where(Job.collection_id == collection_id, Job.kind == kind.value, Job.status.in_(_OPEN))
        .limit(1)
    )


def after_upload(db: Session, queue: DatabaseQueue, collection: Collection) -> Job | None:
    threshold = collection.auto_pretrain_min_images
    if threshold <= 0:
        return None
    images = (
        db.scalar(
            select(func.count(Image.id)).where(
                Image.collection_id == collection.id, Image.holdout.is_(False)
            )
        )
        or 0
    )
    if images < threshold:
        return None
    has_encoder = db.scalar(
        select(Encoder.id).where(Encoder.collection_id == collection.id).limit(1)
    )
    started = db.scalar(
        select(Job.id)
        .where(
            Job.collection_id == collection.id,
            Job.kind == JobKind.pretrain.value,
            Job.status.in_((*_OPEN, JobStatus.succeeded.value)),
        )
        .limit(1)
    )
    if has_encoder or started:
        return None
    return queue.enqueue(db, collection.id, JobKind.pretrain, {}, None, f"auto: {images} images")


def annotations_since_last_training(db: Session, collection_id: int) -> int:
    last = db.scalar(
        select(func.max(Job.created_at)).where(
            Job.collection_id == collection_id, Job.kind == JobKind.train.value
        )
    )
    query = (
        select(func.count(Annotation.id))
        .join(Image, Image.id == Annotation.image_id)
        .where(Image.collection_id == collection_id, Image.holdout.is_(False))
    )
    if last is not None:
        query = query.where(Annotation.created_at > last)
    return db.scalar(query) or 0


def after_annotation(db: Session, queue: DatabaseQueue, collection: Collection) -> Job | None:
    every = collection.retrain_every
    if every <= 0:
        return None
    count = annotations_since_last_training(db, collection.id)
    if count < every:
        return None
    open_job = _open_job(db, collection.id, JobKind.train)
    if open_job is not None:
        # A queued training reads the annotations when it starts, so it will train on this
        # one; only a running one needs a follow-up.
        if open_job.status == JobStatus.running.value:
            collection.retrain_pending = True
        return None
    return queue.enqueue(
        db, collection.id, JobKind.train, {}, None, f"auto: {count} new annotations"
    )


def after_pretraining(db: Session, queue: DatabaseQueue, collection: Collection) -> Job | None:
    """The first training of a collection labeled before its encoder existed. It is automatic
    retraining, so ``retrain_every: 0`` turns it off too: an admin who drives trainings by
    hand must not find a default-budget training queued ahead of theirs."""
    if collection.retrain_every <= 0:
        return None
    has_model = db.scalar(
        select(ModelVersion.id).where(ModelVersion.collection_id == collection.id).limit(1)
    )
    labeled = db.scalar(
        select(func.count(Annotation.id))
        .join(Image, Image.id == Annotation.image_id)
        .where(Image.collection_id == collection.id, Image.holdout.is_(False))
    )
    if has_model or not labeled or _open_job(db, collection.id, JobKind.train) is not None:
        return None
    return queue.enqueue(
        db, collection.id, JobKind.train, {"init": "ssl"}, None, "after pretraining"
    )


def after_training(
    db: Session, queue: DatabaseQueue, collection: Collection, promoted: ModelVersion | None
) -> None:
    if promoted is not None:
        queue.enqueue(
            db,
            collection.id,
            JobKind.predict,
            {"model_id": promoted.id},
            None,
            f"version {promoted.version} activated",
        )
    if collection.retrain_pending:
        collection.retrain_pending = False
        if collection.retrain_every > 0:  # automatic retraining may have been turned off since
            queue.enqueue(
                db,
                collection.id,
                JobKind.train,
                {},
                None,
                "annotations saved during the last training",
            )


def after_training_ended_without_a_version(db: Session, collection: Collection) -> None:
    """A cancelled or failed training drops the remembered trigger instead of starting another
    training the admin just stopped, or one that would fail the same way. The annotations
    still count: the next one saved starts a training if enough arrived since."""
    collection.retrain_pending = False
