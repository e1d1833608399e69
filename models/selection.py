"""Which images to label: coverage of an embedding space by the labeled ones.

Coverage is a facility-location objective (Wei, Iyer & Bilmes, "Submodularity in data subset
selection and active learning", ICML 2015): an image is worth labeling for the open images it
would bring closer to their nearest labeled one. A near-duplicate of a labeled image gains
nothing, and a lone outlier little next to an image that stands for many. The service's
``diverse`` strategy and the benchmark's ``--draw coverage`` both use it.
"""

from __future__ import annotations

import math

import numpy as np

# Open images that stand in for the rest when measuring coverage: enough for a density
# estimate, few enough that a /next on a 10 000-image collection stays well under a second.
COVERAGE_REFERENCE = 1024


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero). Shape: (N, D) -> (N, D)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def coverage_gain(pool: np.ndarray, labeled: np.ndarray | None) -> np.ndarray:
    """Facility-location gain of adding each pool image to the labeled set.

    pool: unit-norm embeddings of the open images, Shape: (N, D); labeled: (M, D) or None.
    Similarities are cosines clipped at 0. Returns Shape: (N,), each in [0, reference size].
    """
    step = max(1, math.ceil(len(pool) / COVERAGE_REFERENCE))
    reference = pool[::step]  # an even, deterministic subsample when the pool is large
    covered = np.zeros(len(reference), dtype=np.float32)
    if labeled is not None and len(labeled):
        seen = normalise(np.asarray(labeled, dtype=np.float32))
        covered = np.clip(reference @ seen.T, 0.0, None).max(axis=1)
    similarity = np.clip(pool @ reference.T, 0.0, None)  # (N, R)
    return np.clip(similarity - covered[None, :], 0.0, None).sum(axis=1)


def greedy_coverage(embeddings: np.ndarray, count: int) -> list[int]:
    """Indices of ``count`` images picked one at a time, each the largest coverage gain given
    the ones before; so the first K of the list are the pick for K (nested, like a random
    draw's prefix). Ties go to the lower index. Shape: (N, D) -> ``count`` distinct indices."""
    if not 0 <= count <= len(embeddings):
        raise ValueError(f"cannot pick {count} of {len(embeddings)} images")
    pool = normalise(np.asarray(embeddings, dtype=np.float32))
    picked: list[int] = []
    for _ in range(count):
        gain = coverage_gain(pool, pool[picked] if picked else None)
        gain[picked] = -1.0
        picked.append(int(np.argmax(gain)))
    return picked
