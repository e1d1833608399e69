"""SQLite tables never give a deleted row's id to a new row (AUTOINCREMENT)

Without AUTOINCREMENT SQLite numbers a new row after the largest id left, so deleting the
newest annotation and saving another gave the new one the old id, and a model version's
annotation_ids (the exact annotations it trained on) named an annotation it never saw. Images,
jobs and versions were renumbered the same way. PostgreSQL sequences never reuse an id: there
this revision does nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 14:00:00.000000
"""

import json
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with a surrogate integer id (backend.orm._types.no_id_reuse); image_leases is
# keyed by its image.
TABLES = (
    "users",
    "api_tokens",
    "user_sessions",
    "collections",
    "images",
    "annotations",
    "jobs",
    "encoders",
    "model_versions",
    "predictions",
    "corrections",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _recreate(autoincrement=True)
    _keep_recorded_ids_unused()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _recreate(autoincrement=False)


def _recreate(autoincrement: bool) -> None:
    """Copy each table into a new one with or without AUTOINCREMENT; rows, ids, constraints and
    indexes are kept (batch mode reflects the table)."""
    _require_foreign_keys_off()
    for table in TABLES:
        # No alteration inside the block: recreate="always" makes leaving it copy the table
        # into one created with the new options, which is the whole change.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def _require_foreign_keys_off() -> None:
    """Recreating drops the old table; with foreign keys enforced, the drop would cascade and
    delete every annotation of the images table, say. Alembic's own connection (the URL, see
    migrations/env.py) has them off, unlike the service's (backend.db); the pragma cannot be
    changed inside the migration's transaction, so refuse rather than lose data."""
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "migration 0005 recreates tables and needs PRAGMA foreign_keys=OFF on its "
            "connection; run it with `maskloop migrate` or backend.migrate.upgrade(url)"
        )


def _keep_recorded_ids_unused() -> None:
    """A copied table continues after its largest id left. Ids that rows record without a
    foreign key may be larger (the newest annotations were deleted after a version trained on
    them): start the table's numbering after those too."""
    bind = op.get_bind()
    annotation_ids = _json_ids(
        bind, "SELECT annotation_ids, val_annotation_ids FROM model_versions"
    )
    version_ids = [
        *_json_ids(bind, "SELECT ensemble_with_ids FROM model_versions"),
        *_column_ids(bind, "SELECT model_id FROM jobs"),
        *_column_ids(bind, "SELECT proposal_model_id FROM annotations"),
        *_job_param_ids(bind, "model_id"),
    ]
    _raise_sequence(bind, "annotations", annotation_ids)
    _raise_sequence(bind, "model_versions", version_ids)
    _raise_sequence(bind, "encoders", _column_ids(bind, "SELECT encoder_id FROM jobs"))


def _column_ids(bind: sa.Connection, query: str) -> list[int]:
    return [row[0] for row in bind.exec_driver_sql(query) if isinstance(row[0], int)]


def _json_ids(bind: sa.Connection, query: str) -> list[int]:
    """Ids in JSON lists of ids, as the ORM stores them (text on SQLite)."""
    ids: list[int] = []
    for row in bind.exec_driver_sql(query):
        for value in row:
            parsed = _loads(value)
            if isinstance(parsed, list):
                ids += [i for i in parsed if isinstance(i, int)]
    return ids


def _job_param_ids(bind: sa.Connection, name: str) -> list[int]:
    ids: list[int] = []
    for (params,) in bind.exec_driver_sql("SELECT params FROM jobs"):
        parsed = _loads(params)
        value = parsed.get(name) if isinstance(parsed, dict) else None
        if isinstance(value, int):
            ids.append(value)
    return ids


def _loads(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None  # not written by the ORM; nothing to learn from it


def _raise_sequence(bind: sa.Connection, table: str, ids: Iterable[int]) -> None:
    """Make SQLite's next id for ``table`` larger than every one of ``ids``."""
    floor = max(ids, default=0)
    if floor <= 0:
        return
    current = bind.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table}
    ).scalar()
    if current is None:
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
            {"table": table, "seq": floor},
        )
    elif current < floor:
        bind.execute(
            sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :table"),
            {"table": table, "seq": floor},
        )
