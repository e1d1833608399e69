"""Image collections and their label classes."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse


class CollectionKind(StrEnum):
    semantic = "semantic"
    instance = "instance"


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # [{"name": ..., "color": "#rrggbb"}, ...]; class index = position + 1 (0 is background).
    classes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    # Loop settings (0 turns one off): pretrain once the collection holds this many images;
    # retrain after this many new or changed annotations.
    auto_pretrain_min_images: Mapped[int] = mapped_column(default=20, server_default="20")
    retrain_every: Mapped[int] = mapped_column(default=5, server_default="5")
    # A retrain was triggered while a training ran: start one when it ends (debounce).
    retrain_pending: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def num_classes(self) -> int:
        """Classes including background."""
        return len(self.classes) + 1
