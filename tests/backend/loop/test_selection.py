import numpy as np

from backend.loop.selection import Candidate, Strategy, choose, validation_turn


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


def test_diverse_prefers_an_image_that_stands_for_many_over_a_lone_outlier() -> None:
    # Three frames of one kind and one odd frame the model is slightly less sure of.
    cluster = [_c(i, 0.5, [1.0, 0.02 * i]) for i in (1, 2, 3)]
    outlier = _c(4, 0.6, [0.0, 1.0])
    candidates = [*cluster, outlier]
    assert choose(candidates, Strategy.uncertainty).image_id == 4  # type: ignore[union-attr]
    assert choose(candidates, Strategy.diverse).image_id in {1, 2, 3}  # type: ignore[union-attr]
    # Once one frame of the kind is labeled its look-alikes add nothing: the odd one is next.
    labeled = np.array([[1.0, 0.02]])
    picked = choose([cluster[1], cluster[2], outlier], Strategy.diverse, labeled)
    assert picked is not None and picked.image_id == 4


def test_random_is_reproducible_with_a_seed() -> None:
    candidates = [_c(i, None) for i in range(10)]
    assert choose(candidates, Strategy.random, seed=3) == choose(
        candidates, Strategy.random, seed=3
    )


def test_empty_gives_none() -> None:
    assert choose([], Strategy.sequential) is None


def _odd(image_id: int) -> bool:
    return image_id % 2 == 1


def test_validation_images_are_left_to_random_draws_until_their_share_is_reached() -> None:
    candidates = [_c(i, 0.1 * i) for i in range(1, 7)]
    # 10 labeled, 1 validates: below 20 %, so this pick is a validation draw.
    pool, validation = validation_turn(candidates, _odd, 10, 1, 0.2)
    assert validation and {c.image_id for c in pool} == {1, 3, 5}
    # 10 labeled, 2 validate: the share is met; uncertainty picks among the others only.
    pool, validation = validation_turn(candidates, _odd, 10, 2, 0.2)
    assert not validation and {c.image_id for c in pool} == {2, 4, 6}


def test_validation_turn_falls_back_when_one_side_is_empty() -> None:
    only_training = [_c(2, 0.5), _c(4, 0.1)]
    assert validation_turn(only_training, _odd, 10, 0, 0.2) == (only_training, False)
    only_validation = [_c(1, 0.5)]
    assert validation_turn(only_validation, _odd, 10, 5, 0.2) == (only_validation, True)
