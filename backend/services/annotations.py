"""Saving and reading annotations. Every save is a new version; nothing is overwritten."""

import json
import math
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import blobs
from backend.errors import BadInput, Conflict, NotFound
from backend.imaging import ImagingError, decode_mask, encode_mask, mask_objects
from backend.jobs.queue import DatabaseQueue
from backend.loop import triggers
from backend.loop.proposals import CannotPredict
from backend.orm import Annotation, AnnotationSource, Collection, Image, ImageStatus, User
from backend.services import loop
from backend.storage import BlobStore


def _parse_object_classes(
    raw: str | None, labels: np.ndarray, collection: Collection
) -> dict[str, int] | None:
    if raw is None or raw == "":
        return None
    if collection.kind != "instance":
        raise BadInput("object_classes applies to instance collections only; leave it out.")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(f"object_classes is not valid JSON ({exc.msg}).") from exc
    if not isinstance(parsed, dict):
        raise BadInput('object_classes must be a JSON object such as {"1": 2, "5": 1}.')
    present = set(mask_objects(labels))
    out: dict[str, int] = {}
    for key, value in parsed.items():
        if not str(key).isdigit() or int(key) not in present:
            raise BadInput(f"object_classes names object {key!r}, which is not in the mask.")
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value < collection.num_classes
        ):
            raise BadInput(
                f"object_classes gives object {key} class {value!r}; classes are 1.."
                f"{collection.num_classes - 1}."
            )
        out[str(int(key))] = value
    return out


def _check_numbers(
    proposal_model_id: int | None, seconds_spent: float | None, base_version: int | None
) -> None:
    if proposal_model_id is not None and proposal_model_id < 1:
        raise BadInput("proposal_model_id must be the positive id of a model version.")
    if seconds_spent is not None and (not math.isfinite(seconds_spent) or seconds_spent < 0):
        raise BadInput("seconds_spent must be a finite number of seconds, 0 or more.")
    if base_version is not None and base_version < 0:
        raise BadInput(
            "base_version must be the version you edited from, or 0 when the image had none."
        )


def _latest(db: Session, image: Image) -> tuple[Annotation, str | None] | None:
    row = db.execute(
        select(Annotation, User.username)
        .outerjoin(User, User.id == Annotation.author_id)
        .where(Annotation.image_id == image.id)
        .order_by(Annotation.version.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def _utc(moment: datetime) -> str:
    # SQLite hands back naive datetimes; they are UTC like every stored time.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _check_base(
    image: Image, latest: tuple[Annotation, str | None] | None, base_version: int | None
) -> None:
    """Refuse a save made from an older version than the latest, so that a second annotator
    (or a second tab) never silently replaces work saved in the meantime. Without
    base_version the save is unconditional, as it always was."""
    current = latest[0].version if latest else 0
    if base_version is None or base_version == current:
        return
    if base_version > current:
        have = f"version {current}" if current else "no annotation yet"
        raise BadInput(
            f"base_version {base_version} does not exist: image {image.id} has {have}. "
            "Send the version you edited from, or 0 when it had none."
        )
    assert latest is not None  # current > base_version >= 0
    annotation, author = latest
    opened = f"version {base_version}" if base_version else "it without a saved annotation"
    raise Conflict(
        f"Image {image.id} was saved as version {current} by {author or 'a deleted user'} at "
        f"{_utc(annotation.created_at)} since you opened {opened}; reload to see it, or save "
        "again to replace it.",
        headers={"X-Annotation-Version": str(current)},
    )


def save_annotation(
    db: Session,
    store: BlobStore,
    image: Image,
    collection: Collection,
    mask_bytes: bytes,
    author: User,
    proposal_model_id: int | None = None,
    seconds_spent: float | None = None,
    object_classes: str | None = None,
    base_version: int | None = None,
) -> Annotation:
    _check_numbers(proposal_model_id, seconds_spent, base_version)
    if not mask_bytes:
        raise BadInput("The mask file is empty; send a PNG or TIFF label image.")
    try:
        labels = decode_mask(
            mask_bytes,
            width=image.width,
            height=image.height,
            kind=collection.kind,  # type: ignore[arg-type]
            num_classes=collection.num_classes,
        )
    except ImagingError as exc:
        message = str(exc)
        # The imaging messages mostly name the mask already ("mask is a JPEG ...").
        named = message.lstrip("'").lower().startswith("mask")
        raise BadInput(message if named else f"mask: {message}") from exc
    classes = _parse_object_classes(object_classes, labels, collection)
    proposal = None
    if proposal_model_id is not None:
        model = loop.proposal_model(db, collection, proposal_model_id)
        try:
            proposal = loop.proposal_for(db, store, model, image)
        except CannotPredict:
            proposal = None  # nothing was proposed to compare with; the mask is saved all the same
        if proposal is not None and proposal.shape != labels.shape:
            proposal = None  # the image changed size since; nothing to compare
    latest = _latest(db, image)
    _check_base(image, latest, base_version)
    # A save racing this one to the same version number loses on the unique constraint below.
    version = (latest[0].version if latest else 0) + 1
    encoded = encode_mask(labels)
    key, created = store.put(encoded)
    try:
        annotation = Annotation(
            image_id=image.id,
            version=version,
            mask_key=key,
            mask_dtype=str(labels.dtype),
            author_id=author.id,
            source=(
                AnnotationSource.corrected_proposal.value
                if proposal_model_id is not None
                else AnnotationSource.manual.value
            ),
            proposal_model_id=proposal_model_id,
            seconds_spent=seconds_spent,
            labeled_pixels=int(np.count_nonzero(labels)),
            object_count=len(mask_objects(labels)) if collection.kind == "instance" else 0,
            object_classes=classes,
        )
        db.add(annotation)
        image.status = ImageStatus.labeled.value
        db.flush()
        if proposal is not None:
            correction = loop.correction_row(collection, model, proposal, labels)
            correction.annotation_id = annotation.id
            db.add(correction)
        loop.release_lease(db, image.id)
        triggers.after_annotation(db, DatabaseQueue(), collection)
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        if created:
            blobs.discard(db, store, [key])
        raise Conflict(
            "Another annotation of this image was saved at the same moment; save again."
        ) from exc
    except BaseException:
        db.rollback()
        if created:
            blobs.discard(db, store, [key])
        raise
    blobs.ensure(store, [(key, encoded)])
    return annotation


def get_annotation(db: Session, image: Image, version: int | None = None) -> Annotation:
    query = select(Annotation).where(Annotation.image_id == image.id)
    if version is not None:
        query = query.where(Annotation.version == version)
    annotation = db.scalar(query.order_by(Annotation.version.desc()).limit(1))
    if annotation is None:
        which = f"version {version}" if version is not None else "annotation"
        raise NotFound(f"Image {image.id} has no {which} yet.")
    return annotation


def list_versions(db: Session, image: Image) -> list[tuple[Annotation, str | None]]:
    rows = db.execute(
        select(Annotation, User.username)
        .outerjoin(User, User.id == Annotation.author_id)
        .where(Annotation.image_id == image.id)
        .order_by(Annotation.version)
    )
    return [(a, name) for a, name in rows]
