"""Proposals: predicting with a model version and caching the result per (image, model)."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import blobs
from backend.errors import BadInput, NotFound
from backend.imaging import encode_mask, encode_png
from backend.loop.data import image_array, mask_array
from backend.loop.ensembles import member_keys
from backend.orm import Image, ModelVersion, Prediction
from backend.storage import BlobStore
from models.data import accepts_channels

# The networks of the active version and of a candidate (up to MASKLOOP_ENSEMBLE_MAX each, see
# backend.loop.ensembles) and an encoder: loading one costs more than a 512 px prediction.
_CACHE_SIZE = 12
_cache: OrderedDict[str, object] = OrderedDict()
_cache_lock = threading.Lock()
# One prediction at a time per process: torch already uses every core, and two concurrent
# calls would only thrash.
_predict_lock = threading.Lock()


def load_checkpoint(store: BlobStore, key: str):  # type: ignore[no-untyped-def]
    """The checkpoint with its network, kept for the next call (loading costs more than a 512 px
    prediction)."""
    from models import Checkpoint

    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    checkpoint = Checkpoint.load(store.local_path(key))
    with _cache_lock:
        _cache[key] = checkpoint
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return checkpoint


def uncertainty_of(labels: np.ndarray, confidence: np.ndarray) -> float:
    """1 - mean confidence over the predicted objects and a 3-pixel band around them: the
    background far from any object is easy and would drown the signal."""
    region = ndimage.binary_dilation(labels > 0, iterations=3)
    values = confidence[region] if region.any() else confidence
    return float(1.0 - values.mean())


class CannotPredict(BadInput):
    """The image does not fit the version's networks (a collection that mixed channel counts
    before uploads were checked for it)."""


@dataclass(frozen=True)
class Computed:
    labels: np.ndarray  # (H, W) ids, unsure objects left out
    confidence: np.ndarray  # (H, W) float32 in [0, 1]
    uncertainty: float
    embedding: list[float]


def compute(store: BlobStore, keys: list[str], image: Image) -> Computed:
    """The proposal of the networks stored under ``keys`` (``ensembles.member_keys``), averaged."""
    from models import embed, predict
    from models.postprocess import MIN_OBJECT_CONFIDENCE, leave_out_unsure

    members = [load_checkpoint(store, key) for key in keys]
    takes = {int(m.config["in_channels"]) for m in members}
    if not all(accepts_channels(t, image.channels) for t in takes):
        raise CannotPredict(
            f"Image {image.id} has {image.channels} channels and this version's networks take "
            f"{' and '.join(map(str, sorted(takes)))}, so it cannot propose a mask for it. "
            "Annotate it from an empty mask; a version trained with such images can."
        )
    array = image_array(store, image)
    with _predict_lock:
        # Every object first: the uncertainty below needs the unsure ones too.
        result = predict(members, array, min_object_confidence=0.0)
        # The version's own encoder: partners change from version to version, and the
        # "diverse" strategy compares embeddings of one version.
        vector = embed(members[0], array)
    kind = str(members[0].config["kind"])
    return Computed(
        labels=leave_out_unsure(result.labels, result.confidence, kind, MIN_OBJECT_CONFIDENCE),
        confidence=result.confidence,
        # Measured before unsure objects are dropped: their weak pixels are exactly what makes
        # an image worth a scientist's time next.
        uncertainty=uncertainty_of(result.labels, result.confidence),
        embedding=[round(float(v), 5) for v in vector],
    )


def store_prediction(
    db: Session,
    store: BlobStore,
    model: ModelVersion,
    image: Image,
    keys: list[str] | None = None,
) -> Prediction:
    """``keys``: the version's checkpoint keys (``member_keys``), for callers that predict many
    images with one version and look them up once."""
    existing = cached(db, model.id, image.id)
    if existing is not None:
        return existing
    computed = compute(store, keys or member_keys(db, model), image)
    written, created = _put_blobs(store, computed)
    (labels_key, _), (confidence_key, _) = written
    labels = computed.labels
    # A rollback expires both rows, and either may be gone by then: keep the ids.
    image_id, model_id = image.id, model.id
    row = Prediction(
        image_id=image_id,
        model_id=model_id,
        labels_key=labels_key,
        confidence_key=confidence_key,
        object_count=int(len(np.unique(labels)) - (1 if (labels == 0).any() else 0)),
        uncertainty=computed.uncertainty,
        embedding=computed.embedding,
    )
    db.add(row)
    try:
        db.commit()
    except IntegrityError:
        # Another process cached the same prediction a moment earlier (use theirs), or the
        # image or the version was deleted while this one was computed (a 404). Either way
        # the blobs created here are garbage unless another row names them.
        db.rollback()
        blobs.discard(db, store, created)
        found = cached(db, model_id, image_id)
        if found is not None:
            return found
        _raise_if_deleted(db, image_id, model_id)
        raise
    # An empty proposal's blobs are shared with other images.
    blobs.ensure(store, written)
    return row


def _put_blobs(store: BlobStore, computed: Computed) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Store the labels and confidence PNGs: their (key, bytes), and the keys this call created
    (the others existed already, named by other rows or being written by other calls)."""
    labels = computed.labels
    pngs = [
        encode_mask(labels.astype(np.uint16 if labels.max() > 255 else np.uint8)),
        encode_png(np.round(computed.confidence * 255).astype(np.uint8)),
    ]
    written: list[tuple[str, bytes]] = []
    created: list[str] = []
    for png in pngs:
        key, new = store.put(png)
        written.append((key, png))
        if new:
            created.append(key)
    return written, created


def _raise_if_deleted(db: Session, image_id: int, model_id: int) -> None:
    if db.scalar(select(Image.id).where(Image.id == image_id)) is None:
        raise NotFound(f"Image {image_id} was deleted while its proposal was computed.")
    if db.scalar(select(ModelVersion.id).where(ModelVersion.id == model_id)) is None:
        raise NotFound(f"Model version {model_id} was deleted while it predicted image {image_id}.")


def cached(db: Session, model_id: int, image_id: int) -> Prediction | None:
    return db.scalar(
        select(Prediction).where(Prediction.model_id == model_id, Prediction.image_id == image_id)
    )


def proposal_labels(store: BlobStore, prediction: Prediction) -> np.ndarray:
    return mask_array(store, prediction.labels_key)


def objects_json(labels: np.ndarray, confidence: np.ndarray, kind: str) -> list[dict[str, object]]:
    """One entry per object (instance) or per connected region of a class (semantic)."""
    from skimage.measure import label as connected
    from skimage.measure import regionprops

    out: list[dict[str, object]] = []
    if kind == "instance":
        regions = [(r, 1) for r in regionprops(labels.astype(np.int32), intensity_image=confidence)]
    else:
        regions = []
        for cls in np.unique(labels):
            if cls == 0:
                continue
            comps = connected(labels == cls, connectivity=1)
            regions += [(r, int(cls)) for r in regionprops(comps, intensity_image=confidence)]
    for region, cls in regions:
        top, left, bottom, right = region.bbox
        out.append(
            {
                "id": int(region.label) if kind == "instance" else len(out) + 1,
                "class": cls,
                "area": int(region.area),
                "bbox": [int(left), int(top), int(right - left), int(bottom - top)],
                "centroid": [
                    round(float(region.centroid[1]), 2),
                    round(float(region.centroid[0]), 2),
                ],
                "mean_confidence": round(float(region.intensity_mean), 4),
            }
        )
    return out
