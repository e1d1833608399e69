"""Turn stored images and annotations into the arrays the learning core takes."""

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.imaging import decode_image
from backend.orm import Annotation, Image
from backend.storage import BlobStore
from models.calibration import evenly_spaced

# Stored images passed the upload limit already; this only guards against a corrupt store.
_NO_LIMIT = 1 << 40


def image_array(store: BlobStore, image: Image) -> np.ndarray:
    """Shape: (H, W, C), the original dtype."""
    return decode_image(store.get(image.sha256), image.filename, max_pixels=_NO_LIMIT).array


def mask_array(store: BlobStore, key: str) -> np.ndarray:
    """Shape: (H, W), uint8 or uint16 label image."""
    return np.array(PILImage.open(io.BytesIO(store.get(key))))


def in_channels_for(images: list[Image]) -> int:
    """The network's input channels: the most any image has (fewer are repeated by the core)."""
    return max((i.channels for i in images), default=1)


@dataclass(frozen=True)
class Labeled:
    image: Image
    annotation: Annotation


def latest_annotations(db: Session, collection_id: int) -> list[Labeled]:
    """The newest annotation of every labeled image that is not held out."""
    newest = (
        select(Annotation.image_id, func.max(Annotation.version).label("version"))
        .group_by(Annotation.image_id)
        .subquery()
    )
    rows = db.execute(
        select(Image, Annotation)
        .join(newest, newest.c.image_id == Image.id)
        .join(
            Annotation,
            (Annotation.image_id == newest.c.image_id) & (Annotation.version == newest.c.version),
        )
        .where(Image.collection_id == collection_id, Image.holdout.is_(False))
        .order_by(Image.id)
    )
    return [Labeled(image, annotation) for image, annotation in rows]


def unlabeled_sample(db: Session, collection_id: int, limit: int) -> list[Image]:
    """Up to ``limit`` images without any annotation, evenly spread over the upload order;
    held-out images never (they are a test split)."""
    labeled = select(Annotation.image_id)
    ids = db.scalars(
        select(Image.id)
        .where(
            Image.collection_id == collection_id,
            Image.holdout.is_(False),
            Image.id.not_in(labeled),
        )
        .order_by(Image.id)
    ).all()
    ids = [ids[i] for i in evenly_spaced(len(ids), limit)]
    if not ids:
        return []
    return list(db.scalars(select(Image).where(Image.id.in_(ids)).order_by(Image.id)))


# The share of labeled images that validate; which ones is fixed per image by a stable hash.
VALIDATION_SHARE = 0.2


def _bucket(collection_id: int, image_id: int) -> int:
    return int(hashlib.sha256(f"{collection_id}:{image_id}".encode()).hexdigest()[:8], 16) % 1000


def in_validation_bucket(collection_id: int, image_id: int) -> bool:
    """Whether the image validates once labeled (about VALIDATION_SHARE of all images)."""
    return _bucket(collection_id, image_id) < 1000 * VALIDATION_SHARE


def split_validation(
    labeled: list[Labeled], collection_id: int
) -> tuple[list[Labeled], list[Labeled]]:
    """About 20 % of the labeled images validate, chosen by a stable hash of the image id, so an
    image stays on its side as the collection grows and successive versions are compared on
    (mostly) the same images. With two or more labeled images, at least one validates and at
    least one trains; a single labeled image only trains."""
    if len(labeled) < 2:
        return list(labeled), []
    ranked = sorted(labeled, key=lambda item: _bucket(collection_id, item.image.id))
    val = [item for item in ranked if in_validation_bucket(collection_id, item.image.id)]
    if not val:
        val = ranked[:1]
    if len(val) == len(labeled):
        val = val[:-1]
    val_ids = {item.image.id for item in val}
    return [item for item in labeled if item.image.id not in val_ids], val
