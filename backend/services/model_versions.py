"""Listing model versions and activating one (promotion by hand, or rollback)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import BadInput, NotFound
from backend.jobs.queue import DatabaseQueue
from backend.jobs.tasks.predict import mark_proposed
from backend.orm import JobKind, ModelStatus, ModelVersion, Prediction, User
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
    cached = (
        db.scalar(select(func.count(Prediction.id)).where(Prediction.model_id == model.id)) or 0
    )
    mark_proposed(db, model)
    if not cached:
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
