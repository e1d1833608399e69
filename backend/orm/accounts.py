"""Users, browser sessions and API tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.orm._types import created_at_column, no_id_reuse


class Role(StrEnum):
    viewer = "viewer"
    annotator = "annotator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "annotator": 1, "admin": 2}[self.value]


class User(Base):
    __tablename__ = "users"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token for REST clients. Only its SHA-256 is stored: tokens are 256-bit random,
    so a slow hash adds nothing and would make every request pay for it."""

    __tablename__ = "api_tokens"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(Base):
    """A browser login; the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "user_sessions"
    __table_args__ = no_id_reuse()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
