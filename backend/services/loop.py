"""The loop seen from the API: next image, settings, corrections and the stats curve."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, SupportsFloat

import numpy as np
from sqlalchemy import Row, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import BadInput, NotFound
from backend.jobs.queue import DatabaseQueue
from backend.jobs.tasks.train import active_model
from backend.loop import triggers
from backend.loop.corrections import compare
from backend.loop.data import VALIDATION_SHARE, in_validation_bucket
from backend.loop.proposals import proposal_labels, store_prediction
from backend.loop.selection import Candidate, Strategy, choose, validation_turn
from backend.orm import (
    Annotation,
    Collection,
    Correction,
    Image,
    ImageLease,
    ImageStatus,
    ModelVersion,
    Prediction,
    User,
)
from backend.orm._types import as_utc, utcnow
from backend.schemas.loop import LoopSettingsUpdate, StatsPublic, StatsRow
from backend.storage import BlobStore

# Strategies that rank images by the active model; they leave validation images to random draws.
MODEL_DRIVEN = (Strategy.uncertainty, Strategy.diverse)


@dataclass(frozen=True)
class Served:
    image: Image
    strategy: Strategy
    uncertainty: float | None
    model_id: int | None
    lease_expires_at: datetime
    validation: bool  # once labeled, the image validates new versions instead of training them


def next_image(
    db: Session, collection: Collection, user: User, strategy: Strategy | None, lease_minutes: float
) -> Served:
    model = active_model(db, collection.id)
    strategy = strategy or (Strategy.uncertainty if model else Strategy.sequential)
    now = utcnow()
    for _attempt in range(3):
        leases = {
            lease.image_id: lease
            for lease in db.scalars(
                select(ImageLease)
                .join(Image, Image.id == ImageLease.image_id)
                .where(Image.collection_id == collection.id)
            )
        }
        taken = {
            i
            for i, lease in leases.items()
            if lease.user_id != user.id and as_utc(lease.expires_at) > now
        }
        mine = [
            i
            for i, lease in leases.items()
            if lease.user_id == user.id and as_utc(lease.expires_at) > now
        ]
        rows = db.scalars(
            select(Image).where(
                Image.collection_id == collection.id,
                Image.holdout.is_(False),
                Image.status != ImageStatus.labeled.value,
            )
        ).all()
        open_images = {i.id: i for i in rows if i.id not in taken}
        if not open_images:
            raise NotFound(
                "No image is left to annotate in this collection (all labeled or reserved)."
            )
        predictions: dict[int, Prediction] = {}
        seen: list[list[float]] = []
        # Labeled image id -> held out; held-out images never train or validate.
        labeled: dict[int, bool] = {}
        if model is not None:
            for p in db.scalars(select(Prediction).where(Prediction.model_id == model.id)):
                predictions[p.image_id] = p
            labeled = {
                image_id: held_out
                for image_id, held_out in db.execute(
                    select(Image.id, Image.holdout).where(
                        Image.collection_id == collection.id,
                        Image.status == ImageStatus.labeled.value,
                    )
                )
            }
            labeled_ids = set(labeled)
            seen = [
                p.embedding
                for i, p in predictions.items()
                if p.embedding and (i in labeled_ids or i in taken)
            ]
        candidates = [
            Candidate(
                image_id=i,
                uncertainty=predictions[i].uncertainty if i in predictions else None,
                embedding=np.asarray(predictions[i].embedding)
                if i in predictions and predictions[i].embedding
                else None,
            )
            for i in open_images
        ]
        # Re-serve what this annotator already holds before handing out something new, so a
        # reload does not leave reserved images behind.
        held = [c for c in candidates if c.image_id in mine]
        pool, validation = held or candidates, False
        if model is not None and not held and strategy in MODEL_DRIVEN:
            in_loop = [i for i, held_out in labeled.items() if not held_out]
            pool, validation = _validation_turn(collection, candidates, in_loop)
        picked = choose(
            pool,
            Strategy.random if validation else strategy,
            np.asarray(seen) if seen else None,
            seed=hash((user.id, now.timestamp())) & 0xFFFF,
        )
        assert picked is not None
        expires = now + timedelta(minutes=lease_minutes)
        try:
            db.execute(delete(ImageLease).where(ImageLease.image_id == picked.image_id))
            db.add(ImageLease(image_id=picked.image_id, user_id=user.id, expires_at=expires))
            db.commit()
        except IntegrityError:
            db.rollback()  # someone else reserved it in the same instant; choose again
            continue
        return Served(
            open_images[picked.image_id],
            strategy,
            picked.uncertainty,
            model.id if model else None,
            expires,
            in_validation_bucket(collection.id, picked.image_id),
        )
    raise NotFound("Could not reserve an image; try again.")


def _validation_turn(
    collection: Collection, candidates: list[Candidate], labeled: list[int]
) -> tuple[list[Candidate], bool]:
    """``labeled``: ids of the labeled images that are not held out."""

    def validates(image_id: int) -> bool:
        return in_validation_bucket(collection.id, image_id)

    validating = sum(validates(i) for i in labeled)
    return validation_turn(candidates, validates, len(labeled), validating, VALIDATION_SHARE)


def release_lease(db: Session, image_id: int) -> None:
    db.execute(delete(ImageLease).where(ImageLease.image_id == image_id))


def proposal_model(db: Session, collection: Collection, model_id: int) -> ModelVersion:
    model = db.get(ModelVersion, model_id)
    if model is None or model.collection_id != collection.id:
        raise BadInput(
            f"proposal_model_id {model_id} is not a model version of collection {collection.id}; "
            "send the X-Model-Id of the proposal you corrected."
        )
    return model


def proposal_for(db: Session, store: BlobStore, model: ModelVersion, image: Image) -> np.ndarray:
    """The proposal the annotator corrected: cached, or computed now (and cached)."""
    return proposal_labels(store, store_prediction(db, store, model, image))


def correction_row(
    collection: Collection, model: ModelVersion, proposal: np.ndarray, final: np.ndarray
) -> Correction:
    stats = compare(proposal, final, collection.kind)
    return Correction(
        model_id=model.id,
        changed_fraction=stats.changed_fraction,
        empty_start_fraction=stats.empty_start_fraction,
        objects_proposed=stats.objects_proposed,
        objects_final=stats.objects_final,
        objects_unchanged=stats.objects_unchanged,
        objects_added=stats.objects_added,
        objects_removed=stats.objects_removed,
    )


def update_settings(db: Session, collection: Collection, body: LoopSettingsUpdate) -> Collection:
    if body.auto_pretrain_min_images is not None:
        collection.auto_pretrain_min_images = body.auto_pretrain_min_images
    if body.retrain_every is not None:
        collection.retrain_every = body.retrain_every
        if body.retrain_every == 0:
            collection.retrain_pending = False  # off means off, also for a remembered trigger
    db.flush()
    queue = DatabaseQueue()
    triggers.after_upload(db, queue, collection)
    triggers.after_annotation(db, queue, collection)
    db.commit()
    return collection


def _rounded(value: SupportsFloat | None, digits: int) -> float | None:
    """SQL aggregates are None over no rows, and Decimal on PostgreSQL for integer columns."""
    return None if value is None else round(float(value), digits)


def _versions_with_corrections(db: Session, collection_id: int) -> list[Row[Any]]:
    """Every version of the collection, oldest first, with the aggregates of its corrections
    by name (count 0 and averages None for a version nobody corrected), in one grouped query."""
    # Changed pixels are summed only where the empty-start figure exists too (corrections
    # recorded before migration 0003 lack it), so the ratio compares the same images.
    recorded = Correction.empty_start_fraction.is_not(None)
    return list(
        db.execute(
            select(
                ModelVersion,
                func.count(Correction.id).label("corrections"),
                func.avg(Correction.changed_fraction).label("mean_changed"),
                func.avg(Correction.empty_start_fraction).label("mean_empty_start"),
                func.sum(case((recorded, Correction.changed_fraction))).label("changed_recorded"),
                func.sum(Correction.empty_start_fraction).label("empty_start"),
                func.count(
                    case((Correction.changed_fraction > Correction.empty_start_fraction, 1))
                ).label("worse_than_empty"),
                func.coalesce(func.sum(Correction.objects_proposed), 0).label("proposed"),
                func.coalesce(func.sum(Correction.objects_unchanged), 0).label("unchanged"),
                func.coalesce(func.sum(Correction.objects_added), 0).label("added"),
                func.coalesce(func.sum(Correction.objects_removed), 0).label("removed"),
                func.avg(Annotation.seconds_spent).label("seconds"),
            )
            .outerjoin(Correction, Correction.model_id == ModelVersion.id)
            .outerjoin(Annotation, Annotation.id == Correction.annotation_id)
            .where(ModelVersion.collection_id == collection_id)
            .group_by(ModelVersion.id)
            .order_by(ModelVersion.version)
        )
    )


def _stats_row(row: Row[Any]) -> StatsRow:
    """One version's point on the curve."""
    model: ModelVersion = row.ModelVersion
    return StatsRow(
        model_id=model.id,
        version=model.version,
        status=model.status,
        created_at=model.created_at,
        labeled_images=model.train_images + model.val_images,
        val_dice=model.metrics.get("dice"),
        val_iou=model.metrics.get("iou"),
        val_object_f1=model.metrics.get("object_f1"),
        corrections=int(row.corrections),
        mean_corrected_fraction=_rounded(row.mean_changed, 5),
        mean_empty_start_fraction=_rounded(row.mean_empty_start, 5),
        pixel_work_ratio=_rounded(row.changed_recorded / row.empty_start, 4)
        if row.empty_start
        else None,
        proposals_worse_than_empty=int(row.worse_than_empty),
        objects_proposed=int(row.proposed),
        objects_accepted_unchanged=int(row.unchanged),
        objects_added=int(row.added),
        objects_removed=int(row.removed),
        mean_seconds_spent=_rounded(row.seconds, 2),
    )


def stats(db: Session, collection: Collection) -> StatsPublic:
    rows = [_stats_row(row) for row in _versions_with_corrections(db, collection.id)]
    labeled = (
        db.scalar(
            select(func.count(Image.id)).where(
                Image.collection_id == collection.id, Image.status == ImageStatus.labeled.value
            )
        )
        or 0
    )
    annotations = (
        db.scalar(
            select(func.count(Annotation.id))
            .join(Image, Image.id == Annotation.image_id)
            .where(Image.collection_id == collection.id)
        )
        or 0
    )
    return StatsPublic(data=rows, count=len(rows), labeled_images=labeled, annotations=annotations)
