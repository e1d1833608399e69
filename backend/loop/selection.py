"""Which image to annotate next.

``uncertainty`` serves the image the active model is least sure of. ``diverse`` trades that off
against coverage of the embedding space (``models.selection.coverage_gain``), so ten
near-identical frames are not all served before a different one. The k-center distance used
before (Sener & Savarese, arXiv:1708.00489) only looked at the candidate itself and, like
uncertainty, served the rare kinds first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from models.selection import coverage_gain, normalise


class Strategy(StrEnum):
    uncertainty = "uncertainty"
    diverse = "diverse"
    random = "random"
    sequential = "sequential"


@dataclass(frozen=True)
class Candidate:
    image_id: int
    uncertainty: float | None  # None: no cached proposal for the active model
    embedding: np.ndarray | None  # Shape: (D,)


def choose(
    candidates: list[Candidate],
    strategy: Strategy,
    labeled_embeddings: np.ndarray | None = None,
    seed: int = 0,
) -> Candidate | None:
    """Pick one candidate. ``labeled_embeddings`` Shape: (N, D), the already-labeled images."""
    if not candidates:
        return None
    if strategy is Strategy.sequential:
        return min(candidates, key=lambda c: c.image_id)
    if strategy is Strategy.random:
        return candidates[int(np.random.default_rng(seed).integers(len(candidates)))]
    scored = [c for c in candidates if c.uncertainty is not None]
    if not scored:
        # No proposals yet: fall back to the order of upload, which is what the lab expects.
        return min(candidates, key=lambda c: c.image_id)
    if strategy is Strategy.uncertainty:
        return max(scored, key=lambda c: (c.uncertainty, -c.image_id))
    return _diverse(scored, labeled_embeddings)


def validation_turn(
    candidates: list[Candidate],
    validates: Callable[[int], bool],
    labeled: int,
    labeled_validating: int,
    share: float,
) -> tuple[list[Candidate], bool]:
    """The candidates a model-driven strategy may pick from, and whether this pick is instead a
    random draw of a validation image.

    The images that validate (``validates(image_id)``, a fixed hash) judge every new version
    against the active one, so they must be a fair sample of the collection. Served by
    uncertainty they would be the hardest images only, and on the loop benchmark such a set
    kept rejecting versions that were better on the test images. So validation images are never
    served by uncertainty; instead, whenever fewer than ``share`` of the labeled images
    validate, the next image is a random one of them.
    """
    valid = [c for c in candidates if validates(c.image_id)]
    rest = [c for c in candidates if not validates(c.image_id)]
    if valid and (labeled_validating < share * labeled or not rest):
        return valid, True
    return rest or valid, False


def _diverse(scored: list[Candidate], labeled: np.ndarray | None) -> Candidate:
    with_embedding = [c for c in scored if c.embedding is not None]
    if not with_embedding:
        return max(scored, key=lambda c: (c.uncertainty or 0.0, -c.image_id))
    pool = normalise(np.stack([c.embedding for c in with_embedding]).astype(np.float32))  # type: ignore[misc]
    gain = coverage_gain(pool, labeled)
    gain = gain / max(float(gain.max()), 1e-8)
    uncertainty = np.array([c.uncertainty or 0.0 for c in with_embedding])
    uncertainty = uncertainty / max(float(uncertainty.max()), 1e-8)
    score = 0.5 * uncertainty + 0.5 * gain
    return with_embedding[int(np.argmax(score))]
