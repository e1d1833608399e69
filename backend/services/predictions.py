"""Serving proposals: from the cache, or predicted now when an image has none yet."""

from sqlalchemy.orm import Session

from backend.errors import BadInput, NotFound
from backend.jobs.tasks.train import active_model
from backend.loop.proposals import cached, store_prediction
from backend.orm import Image, ModelVersion, Prediction
from backend.storage import BlobStore


def model_for(db: Session, image: Image, model_id: int | None) -> ModelVersion:
    if model_id is None:
        model = active_model(db, image.collection_id)
        if model is None:
            raise NotFound(
                f"Collection {image.collection_id} has no active model version yet; "
                "annotate some images and train one."
            )
        return model
    model = db.get(ModelVersion, model_id)
    if model is None:
        raise NotFound(f"No model version with id {model_id}.")
    if model.collection_id != image.collection_id:
        raise BadInput(
            f"model {model_id} belongs to collection {model.collection_id}, but image {image.id} "
            f"is in collection {image.collection_id}."
        )
    return model


def prediction_for(
    db: Session, store: BlobStore, image: Image, model_id: int | None
) -> tuple[ModelVersion, Prediction, bool]:
    """(model, prediction, cache hit)."""
    model = model_for(db, image, model_id)
    row = cached(db, model.id, image.id)
    if row is not None:
        return model, row, True
    return model, store_prediction(db, store, model, image), False
