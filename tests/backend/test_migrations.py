"""One migration history for SQLite and PostgreSQL: upgrade to head, downgrade to base, again."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text

from backend.db import Base, make_engine
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


_LATER = datetime(2030, 1, 1, tzinfo=UTC)
# One row or more in every table at revision 0004, linked as the service links them. Version 1
# trained on annotation 3, deleted since: the largest id any row records.
_ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {"id": 1, "username": "ada", "password_hash": "x", "role": "admin", "is_active": True}
    ],
    "api_tokens": [{"id": 1, "user_id": 1, "name": "t", "token_hash": "h" * 64, "prefix": "mlt_"}],
    "user_sessions": [{"id": 1, "user_id": 1, "token_hash": "s" * 64, "expires_at": _LATER}],
    "collections": [{"id": 1, "name": "c", "kind": "instance", "classes": [], "created_by_id": 1}],
    "images": [
        {
            "id": image_id,
            "collection_id": 1,
            "filename": f"{image_id}.png",
            "sha256": f"{image_id}" * 64,
            "format": "png",
            "size_bytes": 1,
            "width": 2,
            "height": 2,
            "channels": 1,
            "dtype": "uint8",
            "axes": "YX",
            "status": "labeled",
            "display_key": "d" * 64,
            "thumbnail_key": "t" * 64,
        }
        for image_id in (1, 2)
    ],
    "annotations": [
        {
            "id": annotation_id,
            "image_id": annotation_id,
            "version": 1,
            "mask_key": "m" * 64,
            "mask_dtype": "uint8",
            "author_id": 1,
            "source": "manual",
            "labeled_pixels": 1,
            "object_count": 1,
        }
        for annotation_id in (1, 2)
    ],
    "jobs": [
        {
            "id": 1,
            "collection_id": 1,
            "kind": "train",
            "status": "succeeded",
            "params": {},
            "trigger": "manual",
            "progress": 1.0,
            "metrics": {},
            "log_tail": "",
            "cancel_requested": False,
            "attempts": 1,
            "model_id": 1,
            "encoder_id": 1,
        }
    ],
    "encoders": [
        {
            "id": 1,
            "collection_id": 1,
            "method": "masked",
            "checkpoint_key": "e" * 64,
            "pool_images": 2,
            "steps": 1,
            "job_id": 1,
        }
    ],
    "model_versions": [
        {
            "id": 1,
            "collection_id": 1,
            "version": 1,
            "status": "active",
            "init": "ssl",
            "encoder_id": 1,
            "checkpoint_key": "k" * 64,
            "ensemble_with_ids": [],
            "metrics": {"dice": 0.5},
            "annotation_ids": [1, 3],
            "val_annotation_ids": [2],
            "train_images": 2,
            "val_images": 1,
            "config": {},
            "job_id": 1,
        }
    ],
    "predictions": [
        {
            "id": 1,
            "image_id": 1,
            "model_id": 1,
            "labels_key": "l" * 64,
            "confidence_key": "c" * 64,
            "object_count": 1,
            "uncertainty": 0.5,
        }
    ],
    "corrections": [
        {
            "id": 1,
            "annotation_id": 2,
            "model_id": 1,
            "changed_fraction": 0.1,
            "objects_proposed": 1,
            "objects_final": 1,
            "objects_unchanged": 1,
            "objects_added": 0,
            "objects_removed": 0,
        }
    ],
    "image_leases": [{"image_id": 2, "user_id": 1, "expires_at": _LATER}],
}


# The tables revision 0004 has (later revisions add the workers table, whose rows are
# ephemeral presence records that no revision needs to carry).
_TABLES_AT_0004 = [t for t in Base.metadata.sorted_tables if t.name in _ROWS]


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of revision 0004, in primary-key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in _TABLES_AT_0004
        }


def test_upgrade_and_downgrade_keep_every_row(empty_database: str) -> None:
    upgrade(empty_database, "0004")
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        for table in _TABLES_AT_0004:
            conn.execute(table.insert(), _ROWS[table.name])
    before = _contents(engine)
    assert all(before.values())
    upgrade(empty_database)
    assert _contents(engine) == before
    downgrade(empty_database, "0004")
    assert _contents(engine) == before
    upgrade(empty_database)
    assert _contents(engine) == before
    engine.dispose()
    if empty_database.startswith("sqlite"):
        _check_sqlite_after_upgrade(empty_database)


def _check_sqlite_after_upgrade(url: str) -> None:
    """Foreign keys still hold, and new ids continue after every id a row records, deleted or
    not (annotation 3 is gone, version 1 still names it)."""
    engine = make_engine(url)  # the service's connection: foreign keys enforced
    annotation = dict(_ROWS["annotations"][0], image_id=2, version=2)
    del annotation["id"]
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        table = Base.metadata.tables["annotations"]
        new_id = conn.execute(table.insert().returning(table.c.id), annotation).scalar_one()
    engine.dispose()
    assert new_id == 4


def test_sqlite_tables_never_reuse_ids_as_the_orm_says(tmp_path: Path) -> None:
    """Migration 0005 and the ORM's ``sqlite_autoincrement`` name the same tables: every table
    with a surrogate integer id."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type='table'")
        sql = {name: ddl for name, ddl in rows}
    engine.dispose()
    migrated = {name for name, ddl in sql.items() if "AUTOINCREMENT" in (ddl or "")}
    orm = {
        t.name
        for t in Base.metadata.tables.values()
        if t.dialect_options["sqlite"]["autoincrement"]
    }
    surrogate = {
        t.name
        for t in Base.metadata.tables.values()
        if list(t.primary_key.columns.keys()) == ["id"]
    }
    assert migrated == orm == surrogate


def test_sqlite_recreation_refuses_a_connection_that_enforces_foreign_keys(
    tmp_path: Path,
) -> None:
    """Dropping a table with foreign keys enforced would cascade into the tables that refer to
    it: the migration stops before touching anything."""
    from alembic import command

    from backend.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0004")
    engine = make_engine(url)  # the service's pragmas: foreign keys on
    with engine.begin() as conn:
        for name in ("users", "collections", "images"):
            conn.execute(Base.metadata.tables[name].insert(), _ROWS[name])
    config = alembic_config(url)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        with pytest.raises(RuntimeError, match="foreign_keys=OFF"):
            command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0004"
        assert conn.exec_driver_sql("SELECT count(*) FROM images").scalar() == 2
    engine.dispose()
