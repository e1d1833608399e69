"""What the learning jobs produce: SSL encoders, model versions, cached predictions, and the
record of how much a scientist corrected each proposal."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse


class ModelStatus(StrEnum):
    active = "active"  # the one that makes proposals; at most one per collection
    archived = "archived"  # was active, replaced by a better one (can be re-activated)
    rejected = "rejected"  # scored worse than the active version on the same validation images


class Encoder(Base):
    """A self-supervised pretraining result: the starting point for ``init=ssl``."""

    __tablename__ = "encoders"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(32))
    checkpoint_key: Mapped[str] = mapped_column(String(64))
    pool_images: Mapped[int]
    steps: Mapped[int]
    final_loss: Mapped[float | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("collection_id", "version", name="uq_model_versions_version"),
        no_id_reuse(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    init: Mapped[str] = mapped_column(String(16))  # ssl | previous | scratch
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    encoder_id: Mapped[int | None] = mapped_column(ForeignKey("encoders.id", ondelete="SET NULL"))
    checkpoint_key: Mapped[str] = mapped_column(String(64))
    # The versions whose own networks this one averages its probabilities with, newest first
    # (at most MASKLOOP_ENSEMBLE_MAX networks in all, see backend.loop.ensembles). Versions trained
    # on different image types did better averaged than any alone
    # (bench-results/loop-history/replay_ensemble.txt, replay_chain.txt).
    ensemble_with_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Validation scores {dice, iou, object_f1[, objects_merged]} of this version, and of the one
    # active when it finished, on the same validation images.
    metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    baseline_metrics: Mapped[dict[str, float] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    annotation_ids: Mapped[list[int]] = mapped_column(JSON)  # exact versions trained on
    val_annotation_ids: Mapped[list[int]] = mapped_column(JSON)
    train_images: Mapped[int]
    val_images: Mapped[int]
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def network(self) -> str | None:
        """The registry name of its encoder network, from the checkpoint's config."""
        name = (self.config or {}).get("encoder")
        return str(name) if name is not None else None


class Prediction(Base):
    """A cached proposal of one model version for one image."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("image_id", "model_id", name="uq_predictions_image_model"),
        no_id_reuse(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    labels_key: Mapped[str] = mapped_column(String(64))
    confidence_key: Mapped[str] = mapped_column(String(64))
    object_count: Mapped[int]
    # 1 - mean confidence over the pixels that matter (foreground and its border): the
    # "uncertainty" strategy serves the highest first.
    uncertainty: Mapped[float]
    embedding: Mapped[list[float] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_at_column()


class Correction(Base):
    """How much an annotation changed the proposal it started from."""

    __tablename__ = "corrections"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), unique=True
    )
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), index=True
    )
    changed_fraction: Mapped[float]
    # What drawing the final mask from an empty one would have changed; None for corrections
    # recorded before it was kept (migration 0003).
    empty_start_fraction: Mapped[float | None]
    objects_proposed: Mapped[int]
    objects_final: Mapped[int]
    objects_unchanged: Mapped[int]
    objects_added: Mapped[int]
    objects_removed: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()


class ImageLease(Base):
    """An image handed to an annotator by ``next``: not handed to anyone else until it expires."""

    __tablename__ = "image_leases"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
