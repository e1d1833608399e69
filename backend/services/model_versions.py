"""Listing model versions and activating one (promotion by hand, or rollback)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import BadInput, NotFound
from backend.jobs.queue import DatabaseQueue
from backend.jobs.tasks.predict import mark_proposed, unpredicted_images
from backend.orm import Job, JobKind, JobStatus, ModelStatus, ModelVersion, User
from backend.orm._types import utcnow


def get_model(db: Session, model_id: int) -> ModelVersion:
    model = db.get(ModelVersion, model_id)
    if model is None:
        raise NotFound(f"No model version with id {model_id}.")
    return model


def list_models(db: Session, collection_id: int) -> list[ModelVersion]:
    return list(
        db.scalars(
            select(ModelVersion)
            .where(ModelVersion.collection_id == collection_id)
            .order_by(ModelVersion.version.desc())
        )
    )


def activate(
    db: Session, model: ModelVersion, user: User, collection_id: int | None
) -> ModelVersion:
    if collection_id is not None and collection_id != model.collection_id:
        raise BadInput(
            f"model {model.id} belongs to collection {model.collection_id}, not {collection_id}; "
            "a collection can only use its own versions."
        )
    if model.status != ModelStatus.active.value:
        for other in db.scalars(
            select(ModelVersion).where(
                ModelVersion.collection_id == model.collection_id,
                ModelVersion.status == ModelStatus.active.value,
            )
        ):
            other.status = ModelStatus.archived.value
        model.status = ModelStatus.active.value
        model.activated_at = utcnow()
        model.reason = (model.reason or "") + f"; activated by {user.username}"
        db.flush()
    mark_proposed(db, model)
    if _needs_predict_job(db, model):
        DatabaseQueue().enqueue(
            db,
            model.collection_id,
            JobKind.predict,
            {"model_id": model.id},
            user.id,
            f"version {model.version} activated by {user.username}",
        )
    db.commit()
    return model


def _needs_predict_job(db: Session, model: ModelVersion) -> bool:
    """Some image lacks the version's proposal (a cancelled or failed predict job, or a few
    proposals asked for one by one, leave most images without) and no open job will fill it."""
    missing = db.scalar(unpredicted_images(model).limit(1))
    return missing is not None and not _predict_job_open(db, model)


def _predict_job_open(db: Session, model: ModelVersion) -> bool:
    """A queued or running predict job computes this version's proposals: one with its id, or a
    queued one without (it predicts with whichever version is active when it starts)."""
    jobs = db.scalars(
        select(Job).where(
            Job.collection_id == model.collection_id,
            Job.kind == JobKind.predict.value,
            Job.status.in_((JobStatus.queued.value, JobStatus.running.value)),
        )
    )
    for job in jobs:
        target = job.params.get("model_id")
        if target == model.id or (target is None and job.status == JobStatus.queued.value):
            return True
    return False
