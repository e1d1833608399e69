"""Image ingestion: decode and check every file first, then write blobs and rows all or nothing."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend import blobs
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
    Image,
    ImageStatus,
    Prediction,
    User,
)
from backend.storage import BlobStore, sha256_hex
from models.data import channels_fit_together


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


def _printable(filename: str) -> str:
    """Control characters (a zip member may be named "a\r\nb.png") become "_": the name goes
    into listings, the browser and download headers."""
    return "".join(c if c.isprintable() else "_" for c in filename)


def _check_channels(filename: str, new: int, collection: set[int]) -> None:
    """One collection, one network: its images must all fit the same input channels."""
    if channels_fit_together(collection | {new}):
        return
    held = " and ".join(str(c) for c in sorted(collection))
    raise BadInput(
        f"{filename}: a {new}-channel image cannot join this collection of {held}-channel "
        "images: one model segments the whole collection and takes one channel layout (grey "
        "and RGB mix; other counts must match). Upload it to a collection of its own, or "
        f"save it with {held} channels."
    )


def expand_archives(files: Iterable[IncomingFile], settings: Settings) -> list[IncomingFile]:
    """Replace each zip by its members; reject empty and oversized files up front."""
    out: list[IncomingFile] = []
    for f in files:
        if not f.data:
            raise BadInput(f"{f.filename}: the file is empty; choose the image file again.")
        if len(f.data) > settings.max_file_bytes:
            # Only limit + 1 bytes were read, so the message cannot give the file's real size.
            raise PayloadTooLarge(
                f"{f.filename}: the file is over the {settings.max_file_bytes}-byte limit"
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
    written: list[tuple[str, bytes]] = []
    results: list[tuple[Image, bool]] = []
    seen: dict[str, Image] = {}
    channels = set(
        db.scalars(select(Image.channels).where(Image.collection_id == collection.id).distinct())
    )
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
            _check_channels(f.filename, decoded.channels, channels)
            channels.add(decoded.channels)
            display = render_display(decoded.array, rgb=decoded.is_rgb)
            keys = []
            for blob in (f.data, encode_png(display), make_thumbnail(display)):
                key, created = store.put(blob)
                keys.append(key)
                written.append((key, blob))
                if created:
                    created_keys.append(key)
            image, raced = _insert_unless_present(
                db,
                collection_id=collection.id,
                filename=_printable(f.filename)[-512:],
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
            seen[digest] = image
            results.append((image, raced))
        triggers.after_upload(db, DatabaseQueue(), collection)
        db.commit()
    except BaseException:
        db.rollback()
        blobs.discard(db, store, created_keys)
        raise
    blobs.ensure(store, written)
    return results


def _insert_unless_present(db: Session, **values: object) -> tuple[Image, bool]:
    """Insert an image row; if a concurrent upload committed the same file to the collection
    since we looked, return that row instead (a duplicate, not an error). Returns (row, raced).

    ON CONFLICT rather than catching the IntegrityError: on SQLite (pysqlite) a failed insert
    cannot be undone alone without savepoints, which break its transaction handling.
    """
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
    inserted = db.scalar(
        insert(Image)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["collection_id", "sha256"])
        .returning(Image.id)
    )
    if inserted is not None:
        image = db.get(Image, inserted)
        assert image is not None
        return image, False
    existing = db.scalar(
        select(Image).where(
            Image.collection_id == values["collection_id"], Image.sha256 == values["sha256"]
        )
    )
    assert existing is not None, "the conflicting row is committed, so it is visible"
    return existing, True


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
    blobs.discard(db, store, candidates)
