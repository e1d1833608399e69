import numpy as np
import pytest

from models.selection import COVERAGE_REFERENCE, coverage_gain, greedy_coverage


def test_coverage_gain_on_a_large_pool_uses_a_subsample_and_stays_bounded() -> None:
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(COVERAGE_REFERENCE * 2 + 5, 8)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    gain = coverage_gain(pool, pool[:3])
    assert gain.shape == (len(pool),) and (gain >= 0).all()
    assert gain.max() <= COVERAGE_REFERENCE
    # A labeled image's own duplicate gains less than the average open image.
    assert gain[0] < gain.mean()


def _clusters() -> np.ndarray:
    """Nine near-identical frames around one direction, three around another, one outlier."""
    rng = np.random.default_rng(1)
    big = np.array([1.0, 0.0, 0.0]) + 0.01 * rng.normal(size=(9, 3))
    small = np.array([0.0, 1.0, 0.0]) + 0.01 * rng.normal(size=(3, 3))
    outlier = np.array([[0.0, 0.0, 1.0]])
    return np.concatenate([big, small, outlier]).astype(np.float32)


def test_greedy_coverage_takes_each_kind_before_a_second_of_any() -> None:
    picked = greedy_coverage(_clusters(), 3)
    assert picked[0] < 9  # the kind that stands for most images first
    assert 9 <= picked[1] < 12  # then the next largest kind, not another of the first
    assert picked[2] == 12  # a lone outlier still beats a near-duplicate
    assert len(set(greedy_coverage(_clusters(), 13))) == 13


def test_greedy_coverage_is_nested_and_deterministic() -> None:
    x = np.random.default_rng(0).normal(size=(40, 6))
    assert greedy_coverage(x, 8)[:4] == greedy_coverage(x, 4)


def test_greedy_coverage_rejects_more_than_the_pool() -> None:
    with pytest.raises(ValueError, match="cannot pick 5 of 4"):
        greedy_coverage(np.ones((4, 2)), 5)
