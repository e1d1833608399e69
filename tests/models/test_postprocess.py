from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.metrics import segmentation_scores
from models.postprocess import (
    BOUNDARY,
    INTERIOR,
    confidence_from_probabilities,
    instance_targets,
    instances_from_probabilities,
)


def _one_hot(classes: np.ndarray) -> np.ndarray:
    return F.one_hot(torch.from_numpy(classes.astype(np.int64)), 3).permute(2, 0, 1).float().numpy()


def test_instance_targets_mark_the_line_between_touching_objects(
    touching_discs: np.ndarray,
) -> None:
    targets = instance_targets(touching_discs)
    assert targets[32, 31] == BOUNDARY and targets[32, 32] == BOUNDARY
    assert targets[32, 22] == INTERIOR
    assert targets[0, 0] == 0


def test_postprocess_separates_two_touching_discs(touching_discs: np.ndarray) -> None:
    truth = touching_discs
    probs = 0.8 * _one_hot(instance_targets(truth)) + 0.2 / 3  # soft but decisive
    labels = instances_from_probabilities(probs)
    assert labels.max() == 2
    scores = segmentation_scores(labels, truth, kind="instance")
    assert scores["object_f1"] == 1.0 and scores["dice"] > 0.95


def test_postprocess_drops_specks_below_min_size() -> None:
    classes = np.zeros((32, 32), np.uint8)
    classes[5:7, 5:7] = INTERIOR
    assert instances_from_probabilities(_one_hot(classes), min_size=10).max() == 0


def test_confidence_lies_in_unit_interval() -> None:
    probs = np.random.default_rng(0).dirichlet(np.ones(3), (16, 16)).transpose(2, 0, 1)
    for kind in ("instance", "semantic"):
        confidence = confidence_from_probabilities(probs, kind)
        assert confidence.shape == (16, 16) and 0 <= confidence.min() <= confidence.max() <= 1
