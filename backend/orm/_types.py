"""Column helpers shared by the ORM modules."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, func
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.current_timestamp()
    )


def no_id_reuse() -> dict[str, Any]:
    """Table options for a table whose ids are recorded elsewhere (a version's annotation_ids,
    a job's model_id, a client's URL): SQLite without AUTOINCREMENT gives a new row the id of
    the newest deleted one, so a record would name another row later. PostgreSQL sequences
    never reuse an id. Migration 0005 recreates the SQLite tables with it."""
    return {"sqlite_autoincrement": True}
