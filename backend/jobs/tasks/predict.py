"""Compute and cache proposals of a model version for the images of its collection."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.jobs.context import JobContext
from backend.loop.ensembles import member_keys
from backend.loop.proposals import CannotPredict, store_prediction
from backend.orm import Image, ImageStatus, Job, ModelStatus, ModelVersion, Prediction


def run(ctx: JobContext, job_id: int) -> str:
    with ctx.factory() as db:
        job = db.get(Job, job_id)
        assert job is not None
        model_id = job.params.get("model_id")
        query = select(ModelVersion).where(ModelVersion.collection_id == job.collection_id)
        if model_id is not None:
            model = db.scalar(query.where(ModelVersion.id == model_id))
        else:
            model = db.scalar(query.where(ModelVersion.status == ModelStatus.active.value))
        if model is None:
            raise ValueError("no model version to predict with; train one first")
        todo = list(db.scalars(unpredicted_images(model).order_by(Image.id)))
        model_id, keys = model.id, member_keys(db, model)
    ctx.reporter.log(f"predicting {len(todo)} images with version {model.version}")
    skipped = 0
    for n, image_id in enumerate(todo):
        if ctx.reporter.should_stop():
            return "cancelled"
        reason = _predict_one(ctx, image_id, model_id, keys)
        if reason is not None:
            # One image that does not fit, or that was deleted while the job ran, must not
            # cost the others their proposals.
            skipped += 1
            ctx.reporter.log(f"skipped: {reason}")
        ctx.reporter.update((n + 1) / max(1, len(todo)), None, {}, n + 1)
    if skipped:
        ctx.reporter.log(f"{skipped} image(s) left without a proposal")
    with ctx.factory() as db:
        model = db.get(ModelVersion, model_id)
        if model is not None and model.status == ModelStatus.active.value:
            mark_proposed(db, model)
        db.commit()
    return "succeeded"


def unpredicted_images(model: ModelVersion) -> Select[int]:
    """Ids of the images of the version's collection without its proposal: what a predict job
    with this version computes."""
    done = select(Prediction.image_id).where(Prediction.model_id == model.id)
    return select(Image.id).where(Image.collection_id == model.collection_id, Image.id.not_in(done))


def _predict_one(ctx: JobContext, image_id: int, model_id: int, keys: list[str]) -> str | None:
    """Cache one image's proposal; None when done, else why it was not."""
    with ctx.factory() as db:
        image = db.get(Image, image_id)
        model = db.get(ModelVersion, model_id)
        if image is None:
            return f"image {image_id} was deleted"
        if model is None:
            return f"model version {model_id} was deleted"
        try:
            store_prediction(db, ctx.store, model, image, keys)
        except (CannotPredict, NotFound) as exc:
            return exc.detail
    return None


def mark_proposed(db: Session, model: ModelVersion) -> None:
    """Unlabeled images with a cached proposal of the active version show as 'proposed'."""
    predicted = set(db.scalars(select(Prediction.image_id).where(Prediction.model_id == model.id)))
    for image in db.scalars(
        select(Image).where(
            Image.collection_id == model.collection_id,
            Image.status.in_((ImageStatus.unlabeled.value, ImageStatus.proposed.value)),
        )
    ):
        proposed = image.id in predicted
        image.status = (ImageStatus.proposed if proposed else ImageStatus.unlabeled).value
