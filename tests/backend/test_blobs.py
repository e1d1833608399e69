"""Shared blobs are deleted only when no committed row names them, whatever the interleaving."""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend import blobs
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.orm import Encoder
from backend.storage import LocalBlobStore
from tests.backend.api.helpers import make_collection


class _CommitsWhileDeleting(LocalBlobStore):
    """The store, with another request committing a row that names a blob at the moment this
    one deletes it: the interleaving a check-then-delete loses."""

    def __init__(self, root: Path, commit: Callable[[str], None]) -> None:
        super().__init__(root)
        self.commit = commit

    def delete(self, key: str) -> None:
        self.commit(key)
        super().delete(key)


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _name_in_a_row(factory: sessionmaker[Session], collection_id: int) -> Callable[[str], None]:
    def commit(key: str) -> None:
        with factory() as other:
            other.add(
                Encoder(
                    collection_id=collection_id,
                    method="masked",
                    checkpoint_key=key,
                    pool_images=1,
                    steps=1,
                )
            )
            other.commit()

    return commit


def test_discard_deletes_only_blobs_no_row_names(
    admin: httpx.Client, settings: Settings, factory: sessionmaker[Session]
) -> None:
    store = LocalBlobStore(settings.blob_dir)
    named, loose = store.put(b"named")[0], store.put(b"loose")[0]
    _name_in_a_row(factory, make_collection(admin)["id"])(named)
    with factory() as db:
        blobs.discard(db, store, [named, loose])
    assert store.exists(named) and not store.exists(loose)


def test_a_blob_named_by_a_commit_during_its_deletion_is_put_back(
    admin: httpx.Client, settings: Settings, factory: sessionmaker[Session]
) -> None:
    commit = _name_in_a_row(factory, make_collection(admin)["id"])
    store = _CommitsWhileDeleting(settings.blob_dir, commit)
    key, _ = store.put(b"shared by content")
    with factory() as db:
        blobs.discard(db, store, [key])
    assert store.get(key) == b"shared by content"


def test_a_writer_puts_back_a_blob_deleted_before_its_commit_was_seen(
    settings: Settings,
) -> None:
    store = LocalBlobStore(settings.blob_dir)
    key, _ = store.put(b"mask")
    store.delete(key)  # a discard that checked before our commit
    blobs.ensure(store, [(key, b"mask")])
    assert store.get(key) == b"mask"


def test_start_up_leaves_temporary_files_of_writes_in_flight(tmp_path: Path) -> None:
    """``maskloop import`` or a second worker starts beside a server that may be writing."""
    store = LocalBlobStore(tmp_path / "blobs")
    fresh, stale = store.tmp / "blob-fresh", store.tmp / "blob-stale"
    fresh.write_bytes(b"being written")
    stale.write_bytes(b"left by a crash")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert store.clear_tmp(older_than_s=600) == 1
    assert fresh.exists() and not stale.exists()
