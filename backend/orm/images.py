"""Images: the original bytes live in the blob store; the row holds what was read from them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse


class ImageStatus(StrEnum):
    unlabeled = "unlabeled"
    proposed = "proposed"
    labeled = "labeled"


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("collection_id", "sha256", name="uq_images_collection_sha256"),
        Index("ix_images_collection_status", "collection_id", "status"),
        no_id_reuse(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    channels: Mapped[int]
    dtype: Mapped[str] = mapped_column(String(16))
    axes: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.unlabeled)
    # Held-out images are never trained on and never in the pretraining pool: an honest test set.
    holdout: Mapped[bool] = mapped_column(default=False, server_default=false())
    display_key: Mapped[str] = mapped_column(String(64))
    thumbnail_key: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
