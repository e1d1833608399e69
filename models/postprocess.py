"""Turn network probabilities into label images.

Instance models predict three classes per pixel (background, object interior, object boundary),
the representation of the 2018 Data Science Bowl's top solutions and of Chen et al., "DCAN", 2016
(arXiv:1604.02677). Interiors of touching objects are separated by the boundary class, so their
connected components seed a watershed (scikit-image) that grows them back over the foreground.
With ``TrainConfig.instance_target="core"`` a fourth class, the core (the interior pixels at least
half the object's depth from its border), takes the seeds' place: cores of touching objects lie
further apart than their interiors, so a gap in the boundary no longer merges two neighbours.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk
from skimage.segmentation import find_boundaries, relabel_sequential, watershed

BACKGROUND, INTERIOR, BOUNDARY, CORE = 0, 1, 2, 3
# Instance target -> network outputs (``TrainConfig.instance_target``).
_TARGET_CHANNELS = {"boundary": 3, "core": 4}
# Interior pixels at least this far from their object's border, as a fraction of the object's
# largest such distance, are CORE (``instance_targets(core=True)``).
CORE_FRACTION = 0.5
# Target code of boundary pixels where two objects touch (``instance_targets(contact=True)``).
# The loss reads it as BOUNDARY with extra weight (``models.losses.Emphasis``); it never reaches
# the network's outputs. Instance targets only, whose classes are 0-3; 255 is the ignore code.
CONTACT = 254
# How far (pixels) another object may be for a boundary pixel to count as a contact.
CONTACT_RADIUS = 2

# Instance objects whose mean confidence is under this are left out of predictions by default
# (``drop_unsure``). Chosen on unlabeled-for-the-run dsb2018 pool images, never the test split:
# 72 images for three loop versions (+0.01-0.05 object F1) and 150 images for a scratch K=16 and
# a masked K=4 model (+0.023 and +0.031 object F1, Dice +0.003 and +0.006); 0.7 and 0.8 did no
# better, 0.85 lost 0.2 Dice. A larger minimum object size added nothing on top of it.
MIN_OBJECT_CONFIDENCE = 0.75


def instance_target_of(out_channels: int) -> str:
    """The instance target a network with ``out_channels`` outputs was trained on: "boundary"
    (3) or "core" (4), so a checkpoint tells its own post-processing."""
    for target, channels in _TARGET_CHANNELS.items():
        if channels == out_channels:
            return target
    raise ValueError(
        f"an instance network has 3 (boundary) or 4 (core) outputs, got {out_channels!r}"
    )


def instance_targets(
    labels: np.ndarray, *, contact: bool = False, core: bool = False
) -> np.ndarray:
    """Background / interior / boundary (/ core) classes from an instance label image.

    Boundary: object pixels next to background or to another object (``mode="inner"``), so
    touching objects are parted by two boundary pixels. With ``contact``, boundary pixels that
    have another object within ``CONTACT_RADIUS`` pixels get the code ``CONTACT`` instead, so the
    loss can weigh the line between touching objects more (``TrainConfig.contact_weight``).
    With ``core``, interior pixels whose distance to their object's border is at least
    ``CORE_FRACTION`` of the object's largest are ``CORE`` (see ``_core``).
    Shape: (H, W) int -> (H, W) uint8.
    """
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got {labels.shape}")
    classes = np.where(labels > 0, INTERIOR, BACKGROUND).astype(np.uint8)
    classes[find_boundaries(labels, mode="inner") & (labels > 0)] = BOUNDARY
    if core:
        classes[_core(labels, classes == INTERIOR)] = CORE
    if contact:
        classes[(classes == BOUNDARY) & _near_another_object(labels, CONTACT_RADIUS)] = CONTACT
    return classes


def _core(labels: np.ndarray, interior: np.ndarray) -> np.ndarray:
    """Interior pixels at least ``CORE_FRACTION`` of their object's depth from its border.

    Depth is the Euclidean distance to the nearest pixel that is not interior. Boundary pixels
    part touching objects, so one transform of the whole image gives each object its own
    distances; dividing by each object's maximum makes small and large objects alike.
    """
    if not interior.any():
        return interior
    depth = ndi.distance_transform_edt(interior)
    # Ids may be large and sparse (16-bit masks), so look maxima up by rank, not by id.
    ids, owner = np.unique(labels[interior], return_inverse=True)
    deepest = np.asarray(ndi.maximum(depth, labels, ids))
    core = np.zeros_like(interior)
    core[interior] = depth[interior] >= CORE_FRACTION * deepest[owner.ravel()]
    return core


def _near_another_object(labels: np.ndarray, radius: int) -> np.ndarray:
    """Object pixels with a pixel of another object within ``radius`` (a disk)."""
    ids = labels.astype(np.int64)
    footprint = disk(radius)
    highest = ndi.maximum_filter(ids, footprint=footprint)
    # Background counts as "no object", so it must not be the minimum.
    lowest = ndi.minimum_filter(np.where(ids > 0, ids, np.iinfo(np.int64).max), footprint=footprint)
    return (ids > 0) & ((highest != ids) | (lowest != ids))


def instances_from_probabilities(
    probs: np.ndarray,
    foreground_threshold: float = 0.5,
    seed_threshold: float = 0.5,
    min_size: int = 10,
) -> np.ndarray:
    """Instance labels from (background, interior, boundary[, core]) probabilities.

    Mask: ``1 - P(background) > foreground_threshold``. Three classes: seeds are connected
    components of ``P(interior) > seed_threshold``, the watershed runs on ``1 - P(interior)``.
    Four: seeds come from ``P(core)``, the watershed on ``1 - P(core) - P(interior)``, which
    rises from the cores to the boundaries. Foreground components that hold no seed become
    objects of their own; objects under ``min_size`` pixels are dropped.
    Shape: (3 or 4, H, W) -> (H, W) int32 with ids 1..N.
    """
    if probs.ndim != 3 or probs.shape[0] not in _TARGET_CHANNELS.values():
        raise ValueError(f"expected (3, H, W) or (4, H, W) probabilities, got {probs.shape}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    foreground = (1.0 - probs[BACKGROUND]) > foreground_threshold
    if probs.shape[0] == _TARGET_CHANNELS["core"]:
        seed_probs, surface = probs[CORE], 1.0 - probs[CORE] - probs[INTERIOR]
    else:
        seed_probs, surface = probs[INTERIOR], 1.0 - probs[INTERIOR]
    seeds = (seed_probs > seed_threshold) & foreground
    markers, _ = ndi.label(seeds)
    markers, count = _drop_small(markers, max(min_size // 4, 2))
    labels = watershed(surface, markers, mask=foreground)
    orphans, _ = ndi.label(foreground & (labels == 0))
    labels = np.where(orphans > 0, orphans + count, labels)
    return _drop_small(labels, min_size)[0]


def _drop_small(labels: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Remove objects under ``min_size`` pixels and renumber 1..N. Returns labels and N."""
    labels = labels.astype(np.int32)
    if min_size > 0 and labels.max() > 0:
        sizes = np.bincount(labels.ravel())
        labels[sizes[labels] < min_size] = 0
    relabelled = relabel_sequential(labels)[0].astype(np.int32)
    return relabelled, int(relabelled.max())


def drop_unsure(labels: np.ndarray, confidence: np.ndarray, min_confidence: float) -> np.ndarray:
    """Remove objects whose mean confidence is under ``min_confidence`` and renumber 1..N.

    Weak objects are mostly false positives on textures the model has not seen labeled (tissue,
    debris): on 72 unlabeled dsb2018 pool images, dropping objects under 0.75 raised object F1 by
    0.01-0.05 for three loop versions at unchanged Dice. Shape: (H, W) ints, (H, W) -> (H, W).
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    if min_confidence == 0.0 or labels.max() == 0:
        return labels
    ids = np.arange(1, int(labels.max()) + 1)
    means = np.asarray(ndi.mean(confidence, labels, ids))
    unsure = ids[means < min_confidence]
    if not len(unsure):
        return labels
    kept = np.where(np.isin(labels, unsure), 0, labels)
    return relabel_sequential(kept)[0].astype(np.int32)


def leave_out_unsure(
    labels: np.ndarray, confidence: np.ndarray, kind: str, min_confidence: float
) -> np.ndarray:
    """``drop_unsure`` for instance labels; semantic class maps are returned as they are."""
    return drop_unsure(labels, confidence, min_confidence) if kind == "instance" else labels


def semantic_from_probabilities(probs: np.ndarray) -> np.ndarray:
    """Most probable class per pixel. Shape: (K, H, W) -> (H, W) int32."""
    return probs.argmax(axis=0).astype(np.int32)


def confidence_from_probabilities(probs: np.ndarray, kind: str) -> np.ndarray:
    """Per-pixel confidence in [0, 1]: the maximum class probability. For instance models the
    classes are background vs object, since interior vs boundary (vs core) is uncertain at every
    edge by construction. Shape: (K, H, W) -> (H, W) float32."""
    if kind == "instance":
        return np.maximum(probs[BACKGROUND], 1.0 - probs[BACKGROUND]).astype(np.float32)
    return probs.max(axis=0).astype(np.float32)
