"""Which blobs rows reference, and deleting the others without racing a concurrent commit.

Blobs are content-addressed and shared: two uploads of one file, or two empty masks, name the
same blob. So a request that deletes "its" blob after a failure may delete one that another
request is committing a row for at that moment. ``discard`` and ``ensure`` are the two halves
of the protocol that prevents it: the deleter checks again after deleting and writes back
what became referenced; the writer checks after committing and writes back what vanished.
Whatever the interleaving, one of the two sees the other.
"""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Annotation, Encoder, Image, ModelVersion, Prediction
from backend.storage import BlobNotFound, BlobStore

# Every column that names a blob. A blob no row names is garbage; one missing here would be
# deleted by the start-up sweep while still in use.
BLOB_COLUMNS = (
    Image.sha256,
    Image.display_key,
    Image.thumbnail_key,
    Annotation.mask_key,
    Prediction.labels_key,
    Prediction.confidence_key,
    ModelVersion.checkpoint_key,
    Encoder.checkpoint_key,
)


def referenced_keys(db: Session) -> set[str]:
    keys: set[str] = set()
    for column in BLOB_COLUMNS:
        keys.update(db.scalars(select(column).distinct()))
    return keys


def live_keys(db: Session, candidates: set[str]) -> set[str]:
    """The subset of ``candidates`` that some row references."""
    live: set[str] = set()
    if not candidates:
        return live
    for column in BLOB_COLUMNS:
        live.update(db.scalars(select(column).where(column.in_(candidates)).distinct()))
    return live


def discard(db: Session, store: BlobStore, keys: Iterable[str]) -> None:
    """Delete the blobs among ``keys`` that no committed row references.

    Call it outside a transaction that still holds rows naming them (after commit or rollback).
    """
    candidates = set(keys)
    held: dict[str, bytes] = {}
    for key in candidates - live_keys(db, candidates):
        try:
            held[key] = store.get(key)
        except BlobNotFound:
            continue
        store.delete(key)
    if not held:
        return
    # A row committed between the check above and the delete names a blob that is now gone:
    # look again in a fresh transaction and put those back.
    db.rollback()
    for key in live_keys(db, set(held)):
        store.put(held[key])
    db.rollback()


def ensure(store: BlobStore, blobs: Iterable[tuple[str, bytes]]) -> None:
    """After committing rows that name ``blobs`` (key, bytes): write back any that a concurrent
    ``discard`` deleted before it could see the commit. Checks by key: no bytes are hashed
    again unless one is missing."""
    for key, data in blobs:
        if not store.exists(key):
            store.put(data)


def sweep_orphans(db: Session, store: BlobStore, older_than_s: float) -> int:
    """Delete blobs no row references (left by a crash between blob write and commit)."""
    live = referenced_keys(db)
    orphans = [k for k in store.keys(older_than_s) if k not in live]
    for key in orphans:
        store.delete(key)
    return len(orphans)
