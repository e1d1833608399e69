"""Tiny synthetic microscopy-like images for the learning-core tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from skimage.draw import disk


@pytest.fixture(autouse=True)
def _one_thread_seeded() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


def make_nuclei(seed: int, size: int = 64, count: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 (size, size) image of bright discs on a noisy background and its instance labels."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.int32)
    for index in range(count):
        centre = rng.integers(10, size - 10, 2)
        rr, cc = disk(tuple(centre), int(rng.integers(5, 9)), shape=labels.shape)
        labels[rr, cc] = index + 1
    image = (labels > 0) * 150 + rng.normal(30, 10, labels.shape)
    return image.clip(0, 255).astype(np.uint8), labels


@pytest.fixture
def nuclei() -> tuple[list[np.ndarray], list[np.ndarray]]:
    pairs = [make_nuclei(seed) for seed in range(3)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@pytest.fixture
def nuclei_factory() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return make_nuclei


@pytest.fixture
def touching_discs() -> np.ndarray:
    """Instance labels of two discs of radius 10 whose edges touch. Shape: (64, 64)."""
    labels = np.zeros((64, 64), np.int32)
    for index, column in enumerate((22, 41)):
        rr, cc = disk((32, column), 10, shape=labels.shape)
        labels[rr, cc] = index + 1
    return labels
