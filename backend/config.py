"""Settings: one class, every value overridable with a ``MASKLOOP_`` environment variable."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from models.device import check_device_name

_DATABASES = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/NAME"


def check_database_url(value: str) -> str:
    """The URL unchanged if maskloop can use it, else a ValueError that says what to write.

    Checked here so that a typo or an unsupported database is one line at start-up, not an
    ImportError from deep inside SQLAlchemy at the first query.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"not a database URL; use {_DATABASES}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"maskloop runs on SQLite or PostgreSQL, not {url.get_backend_name()!r}; "
            f"use {_DATABASES}"
        )
    try:  # maskloop installs psycopg (version 3); postgresql+psycopg2:// would fail here
        url.get_dialect().import_dbapi()
    except (ImportError, NoSuchModuleError):
        raise ValueError(
            f"the database driver {url.drivername!r} is not installed; use {_DATABASES}"
        ) from None
    return value


class Settings(BaseSettings):
    """Runtime configuration. Defaults run on one machine with nothing else installed."""

    model_config = SettingsConfigDict(env_prefix="MASKLOOP_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    # Defaults to a SQLite file inside data_dir (filled in by the validator below).
    database_url: str = ""
    admin_token: str | None = None
    admin_password: str | None = None
    admin_username: str = "admin"

    max_upload_bytes: int = Field(default=1 << 30, gt=0, description="whole request body")
    max_file_bytes: int = Field(default=256 << 20, gt=0, description="one image file")
    max_image_pixels: int = Field(default=16384 * 16384, gt=0, description="width x height")
    max_zip_members: int = Field(default=5000, gt=0)
    max_zip_total_bytes: int = Field(default=4 << 30, gt=0, description="uncompressed zip content")

    session_hours: float = Field(default=24 * 7, gt=0, le=24 * 366)
    cookie_secure: bool = False
    # Unreferenced blobs younger than this are left alone at start-up: another process may be
    # between writing a blob and committing the row that references it.
    orphan_grace_seconds: float = Field(default=3600, ge=0, le=366 * 86400)

    # Jobs: "embedded" starts one worker process beside the API; "none" expects workers
    # started elsewhere with `maskloop worker`.
    worker: Literal["embedded", "none"] = "embedded"
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N or mps for training")
    pretrain_minutes: float = Field(default=5.0, gt=0, le=24 * 60)
    train_minutes: float = Field(default=3.0, gt=0, le=24 * 60)
    # A new version averages its network's predictions with those of the active version's
    # networks, up to this many in all (1: every version predicts alone). Each network adds a
    # full prediction pass, about 0.2 s per 1024x1024 image on 2 CPU cores.
    ensemble_max: int = Field(default=4, ge=1, le=16, description="networks a version averages")
    lease_minutes: float = Field(
        default=15.0, gt=0, le=7 * 24 * 60, description="next-image reservation"
    )
    job_stale_seconds: float = Field(
        default=120.0, gt=0, le=86400, description="worker heartbeat timeout"
    )

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        check_device_name(value)  # a typo fails at start-up, not in every job
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return check_database_url(value) if value else value

    @model_validator(mode="after")
    def _default_database(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'maskloop.db').resolve()}"
        return self

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache
def get_settings() -> Settings:
    return Settings()
