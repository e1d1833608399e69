from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.metrics import segmentation_scores
from models.postprocess import (
    BOUNDARY,
    CONTACT,
    INTERIOR,
    confidence_from_probabilities,
    drop_unsure,
    instance_targets,
    instances_from_probabilities,
    leave_out_unsure,
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


def test_instance_targets_code_the_contact_between_objects_apart_from_outer_edges(
    touching_discs: np.ndarray,
) -> None:
    plain = instance_targets(touching_discs)
    coded = instance_targets(touching_discs, contact=True)
    assert coded[32, 31] == CONTACT and coded[32, 32] == CONTACT
    assert coded[32, 13] == BOUNDARY  # the far edge of the left disc touches only background
    assert not (plain == CONTACT).any()
    # Only boundary pixels are recoded; interiors and background are as before.
    changed = coded != plain
    assert (plain[changed] == BOUNDARY).all()


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


def test_drop_unsure_removes_weak_objects_and_renumbers() -> None:
    labels = np.zeros((10, 10), dtype=np.int32)
    labels[1:4, 1:4], labels[5:8, 5:8], labels[1:3, 6:9] = 1, 2, 3
    confidence = np.full((10, 10), 0.95, dtype=np.float32)
    confidence[5:8, 5:8] = 0.6  # object 2 is the unsure one
    kept = drop_unsure(labels, confidence, 0.75)
    assert set(np.unique(kept)) == {0, 1, 2}
    assert (kept[5:8, 5:8] == 0).all() and (kept[1:3, 6:9] == 2).all()
    assert drop_unsure(labels, confidence, 0.0) is labels


def test_drop_unsure_rejects_threshold_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="min_confidence must be in"):
        drop_unsure(np.zeros((2, 2), np.int32), np.zeros((2, 2), np.float32), 1.5)


def test_leave_out_unsure_passes_semantic_class_maps_through() -> None:
    classes = np.array([[0, 1], [1, 2]], np.int32)
    low = np.zeros((2, 2), np.float32)
    assert leave_out_unsure(classes, low, "semantic", 0.75) is classes
    assert leave_out_unsure(classes, low, "instance", 0.75).max() == 0
