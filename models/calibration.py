"""Prior matching for semantic models: per-class logit offsets fitted on unlabeled images.

A network fine-tuned on one or two label images tends to predict too little or too much of a
thin class (isbi2012 membranes: 17-26 % of pixels predicted against 21 % labeled, and which way
depends on the draw and the start). The labeled masks say what share of pixels each class
takes; the collection's unlabeled images say where the network puts its decision boundary. An
offset per class that makes the argmax on the unlabeled images give the labeled shares moves the
boundary back without looking at any other label. On isbi2012 labeled sections outside the
draw (``bench-results/sweeps/isbi-ceiling/``) it added 0.01-0.04 membrane Dice at K=1 and
nothing at K=2; on the test split the gain is smaller (BENCHMARKS.md, "Where isbi2012 Dice goes").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.data.augment import IGNORE_INDEX

# Pixels per image that the fit looks at; the shares of a few hundred thousand pixels are exact
# to well under a percent, and the fit then costs milliseconds.
PIXELS_PER_IMAGE = 20_000
# Rounds of per-class fits; two classes settle in one, a few classes in a handful.
ROUNDS = 10
# Offsets stay within a factor of e^4 on a class's odds: a fit that needs more says the labeled
# shares do not describe the unlabeled images, and a huge offset would erase a class.
MAX_OFFSET = 4.0


def evenly_spaced(count: int, limit: int) -> list[int]:
    """Up to ``limit`` distinct indices into ``count`` items, spread evenly, first and last
    included: which of a collection's unlabeled images the offsets are fitted on."""
    if count <= limit:
        return list(range(count))
    return sorted({int(i) for i in np.linspace(0, count - 1, limit).round()})


def class_shares(masks: Sequence[np.ndarray], num_classes: int) -> np.ndarray:
    """Share of labeled pixels per class, over all masks together. Shape: (num_classes,)."""
    counts = np.zeros(num_classes, dtype=np.float64)
    for mask in masks:
        values = np.asarray(mask).ravel()
        values = values[(values != IGNORE_INDEX) & (values < num_classes)]
        counts += np.bincount(values.astype(np.int64), minlength=num_classes)[:num_classes]
    return counts / max(counts.sum(), 1.0)


def sample_log_probs(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log-probabilities of up to PIXELS_PER_IMAGE random pixels. Shape: (K, H, W) -> (N, K)."""
    flat = probs.reshape(probs.shape[0], -1)
    if flat.shape[1] > PIXELS_PER_IMAGE:
        flat = flat[:, rng.choice(flat.shape[1], PIXELS_PER_IMAGE, replace=False)]
    return np.log(np.clip(flat.T, 1e-7, 1.0)).astype(np.float32)


def fit_offsets(log_probs: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Offsets b (b[0] = 0) such that argmax(log p + b) gives each class its share of pixels.

    log_probs: (N, K) sampled pixels. A class absent from the labels keeps offset 0 (there is
    no share to aim at). Alternating per-class bisection: each step sets one class's offset so
    that, with the others fixed, its share is right; a few rounds settle all of them.
    """
    k = log_probs.shape[1]
    offsets = np.zeros(k, dtype=np.float64)
    present = [c for c in range(1, k) if shares[c] > 0]
    for _ in range(ROUNDS if len(present) > 1 else 1):
        for c in present:
            offsets[c] = _bisect(log_probs, offsets, c, float(shares[c]))
    return offsets


def _bisect(log_probs: np.ndarray, offsets: np.ndarray, c: int, share: float) -> float:
    others = np.delete(log_probs + offsets, c, axis=1).max(axis=1)
    margin = log_probs[:, c] - others  # class c wins where margin + b_c > 0
    # The b_c at which the share of pixels with margin + b_c > 0 is ``share``.
    b = -float(np.quantile(margin, 1.0 - share))
    return float(np.clip(b, -MAX_OFFSET, MAX_OFFSET))


def apply_offsets(probs: np.ndarray, offsets: Sequence[float]) -> np.ndarray:
    """Probabilities re-weighted by exp(offset) and renormalised (softmax of logits + offsets).
    Shape: (K, H, W) -> (K, H, W) float32."""
    weights = np.exp(np.asarray(offsets, dtype=np.float32))[:, None, None]
    weighted = probs * weights
    return (weighted / np.maximum(weighted.sum(axis=0, keepdims=True), 1e-12)).astype(np.float32)
