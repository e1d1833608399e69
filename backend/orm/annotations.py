"""Annotations: every save is a new version; rows are never updated or overwritten."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse


class AnnotationSource(StrEnum):
    manual = "manual"
    corrected_proposal = "corrected_proposal"


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("image_id", "version", name="uq_annotations_image_version"),
        no_id_reuse(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    mask_key: Mapped[str] = mapped_column(String(64))
    mask_dtype: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(24))
    # The model version whose proposal was corrected; a foreign key arrives with model versions.
    proposal_model_id: Mapped[int | None]
    seconds_spent: Mapped[float | None]
    labeled_pixels: Mapped[int]
    object_count: Mapped[int]
    # instance collections: {"<object id>": class index}; objects not listed are class 1.
    object_classes: Mapped[dict[str, int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_at_column()
