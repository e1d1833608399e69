"""Image ingestion: decode and check every file first, then write blobs and rows all or nothing."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import BadInput, NotFound, PayloadTooLarge, UnsupportedMedia
from backend.imaging import (
    ImageTooLarge,
    ImagingError,
    UnsupportedImageType,
    decode_image,
    encode_png,
    extract_zip,
    is_zip,
    make_thumbnail,
    render_display,
)
from backend.jobs.queue import DatabaseQueue
from backend.loop import triggers
from backend.orm import (
    Annotation,
    Collection,
    Encoder,
    Image,
    ImageStatus,
    ModelVersion,
    Prediction,
    User,
)
from backend.storage import BlobStore, sha256_hex


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    data: bytes


def _http_error(filename: str, exc: ImagingError) -> BadInput | PayloadTooLarge | UnsupportedMedia:
    message = f"{filename}: {exc}"
    if isinstance(exc, UnsupportedImageType):
        return UnsupportedMedia(message)
    if isinstance(exc, ImageTooLarge):
        return PayloadTooLarge(message)
    return BadInput(message)


def expand_archives(files: Iterable[IncomingFile], settings: Settings) -> list[IncomingFile]:
    """Replace each zip by its members; reject empty and oversized files up front."""
    out: list[IncomingFile] = []
    for f in files:
        if not f.data:
            raise BadInput(f"{f.filename}: the file is empty; choose the image file again.")
        if len(f.data) > settings.max_file_bytes:
            raise PayloadTooLarge(
                f"{f.filename}: {len(f.data)} bytes is over the "
                f"{settings.max_file_bytes}-byte limit"
                " per file (MASKLOOP_MAX_FILE_BYTES)."
            )
        if not is_zip(f.data):
            out.append(f)
            continue
        try:
            members = extract_zip(
                f.data,
                max_members=settings.max_zip_members,
                max_total_bytes=settings.max_zip_total_bytes,
            )
        except ImagingError as exc:
            raise _http_error(f.filename, exc) from exc
        if not members:
            raise BadInput(f"{f.filename}: the zip holds no image files.")
        for name, data in members:
            out.append(IncomingFile(f"{PurePosixPath(f.filename).name}/{name}", data))
    if not out:
        raise BadInput(
            "No files were sent; send one or more images in the multipart field 'files'."
        )
    return out


def ingest(
    db: Session,
    store: BlobStore,
    settings: Settings,
    collection: Collection,
    files: Iterable[IncomingFile],
    user: User | None,
) -> list[tuple[Image, bool]]:
    """Add images to a collection. Returns (image, duplicate) per file, in order.

    Nothing is kept unless every file is accepted: on any error, blobs this call created are
    removed and the caller's transaction is rolled back.
    """
    created_keys: list[str] = []
    results: list[tuple[Image, bool]] = []
    seen: dict[str, Image] = {}
    try:
        for f in expand_archives(files, settings):
            digest = sha256_hex(f.data)
            existing = seen.get(digest) or db.scalar(
                select(Image).where(Image.collection_id == collection.id, Image.sha256 == digest)
            )
            if existing is not None:
                results.append((existing, True))
                continue
            try:
                decoded = decode_image(f.data, f.filename, max_pixels=settings.max_image_pixels)
            except ImagingError as exc:
                raise _http_error(f.filename, exc) from exc
            display = render_display(decoded.array, rgb=decoded.is_rgb)
            keys = []
            for blob in (f.data, encode_png(display), make_thumbnail(display)):
                key, created = store.put(blob)
                keys.append(key)
                if created:
                    created_keys.append(key)
            image = Image(
                collection_id=collection.id,
                filename=f.filename[-512:],
                sha256=digest,
                format=decoded.format,
                size_bytes=len(f.data),
                width=decoded.width,
                height=decoded.height,
                channels=decoded.channels,
                dtype=decoded.dtype,
                axes=decoded.axes[:16],
                status=ImageStatus.unlabeled.value,
                display_key=keys[1],
                thumbnail_key=keys[2],
                uploaded_by_id=user.id if user else None,
            )
            db.add(image)
            db.flush()
            seen[digest] = image
            results.append((image, False))
        triggers.after_upload(db, DatabaseQueue(), collection)
        db.commit()
    except BaseException:
        db.rollback()
        for key in created_keys:
            store.delete(key)
        raise
    return results


def get_image(db: Session, image_id: int) -> Image:
    image = db.get(Image, image_id)
    if image is None:
        raise NotFound(f"No image with id {image_id}.")
    return image


def list_images(
    db: Session, collection_id: int, status: ImageStatus | None, offset: int, limit: int
) -> tuple[list[Image], int]:
    query = select(Image).where(Image.collection_id == collection_id)
    if status is not None:
        query = query.where(Image.status == status.value)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(Image.id).offset(offset).limit(limit))
    return list(rows), total


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
    """The subset of ``candidates`` that some row still references."""
    live: set[str] = set()
    for column in BLOB_COLUMNS:
        live.update(db.scalars(select(column).where(column.in_(candidates)).distinct()))
    return live


def delete_image(db: Session, store: BlobStore, image: Image) -> None:
    candidates = {image.sha256, image.display_key, image.thumbnail_key}
    candidates.update(
        db.scalars(select(Annotation.mask_key).where(Annotation.image_id == image.id))
    )
    for labels, confidence in db.execute(
        select(Prediction.labels_key, Prediction.confidence_key).where(
            Prediction.image_id == image.id
        )
    ):
        candidates.update((labels, confidence))
    db.delete(image)
    db.commit()
    # Blobs are shared by content; remove only those nothing else points at any more.
    for key in candidates - live_keys(db, candidates):
        store.delete(key)


def sweep_orphans(db: Session, store: BlobStore, older_than_s: float) -> int:
    """Delete blobs no row references (left by a crash between blob write and commit)."""
    live = referenced_keys(db)
    orphans = [k for k in store.keys(older_than_s) if k not in live]
    for key in orphans:
        store.delete(key)
    return len(orphans)
