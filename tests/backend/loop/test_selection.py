import numpy as np

from backend.loop.selection import Candidate, Strategy, choose


def _c(i: int, u: float | None, e: list[float] | None = None) -> Candidate:
    return Candidate(i, u, None if e is None else np.asarray(e, dtype=float))


def test_uncertainty_picks_the_least_sure() -> None:
    picked = choose([_c(1, 0.1), _c(2, 0.7), _c(3, 0.3)], Strategy.uncertainty)
    assert picked is not None and picked.image_id == 2


def test_without_scores_falls_back_to_upload_order() -> None:
    picked = choose([_c(5, None), _c(3, None)], Strategy.uncertainty)
    assert picked is not None and picked.image_id == 3


def test_diverse_skips_near_duplicates_of_labeled_images() -> None:
    labeled = np.array([[1.0, 0.0]])
    candidates = [_c(1, 0.9, [1.0, 0.01]), _c(2, 0.8, [0.0, 1.0])]
    assert choose(candidates, Strategy.uncertainty).image_id == 1  # type: ignore[union-attr]
    assert choose(candidates, Strategy.diverse, labeled).image_id == 2  # type: ignore[union-attr]


def test_random_is_reproducible_with_a_seed() -> None:
    candidates = [_c(i, None) for i in range(10)]
    assert choose(candidates, Strategy.random, seed=3) == choose(
        candidates, Strategy.random, seed=3
    )


def test_empty_gives_none() -> None:
    assert choose([], Strategy.sequential) is None
