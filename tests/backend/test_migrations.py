"""One migration history for SQLite and PostgreSQL: upgrade to head, downgrade to base, again."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from backend.db import Base
from backend.migrate import downgrade, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    # A fresh database on the session's PostgreSQL server, dropped afterwards.
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_head_creates_every_table(empty_database: str) -> None:
    upgrade(empty_database)
    assert _tables(empty_database) == set(Base.metadata.tables)


def test_downgrade_base_removes_everything_and_upgrade_again_works(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    upgrade(empty_database)
    assert _tables(empty_database) == set(Base.metadata.tables)


def test_models_match_migrations(empty_database: str) -> None:
    """The ORM and the migration history agree (nothing left for autogenerate to find)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(empty_database)
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
