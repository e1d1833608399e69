from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

from models.metrics import segmentation_scores
from models.postprocess import (
    BACKGROUND,
    BOUNDARY,
    CONTACT,
    CORE,
    INTERIOR,
    confidence_from_probabilities,
    drop_unsure,
    instance_target_of,
    instance_targets,
    instances_from_probabilities,
    leave_out_unsure,
)


def _one_hot(classes: np.ndarray, channels: int = 3) -> np.ndarray:
    onehot = F.one_hot(torch.from_numpy(classes.astype(np.int64)), channels)
    return onehot.permute(2, 0, 1).float().numpy()


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


@pytest.mark.parametrize("core", [False, True], ids=["boundary", "core"])
def test_postprocess_separates_two_touching_discs(touching_discs: np.ndarray, core: bool) -> None:
    classes = 4 if core else 3
    targets = instance_targets(touching_discs, core=core)
    probs = 0.8 * _one_hot(targets, classes) + 0.2 / classes  # soft but decisive
    labels = instances_from_probabilities(probs)
    assert labels.dtype == np.int32 and labels.max() == 2
    scores = segmentation_scores(labels, touching_discs, kind="instance")
    assert scores["object_f1"] == 1.0 and scores["dice"] > 0.95


def test_instance_targets_with_core_put_a_core_inside_each_disc_apart_from_the_other(
    touching_discs: np.ndarray,
) -> None:
    targets = instance_targets(touching_discs, core=True)
    assert set(np.unique(targets)) == {BACKGROUND, INTERIOR, BOUNDARY, CORE}
    core = targets == CORE
    first, second = core & (touching_discs == 1), core & (touching_discs == 2)
    assert first.any() and second.any() and (first | second).sum() == core.sum()
    # Not even diagonal neighbours: one core grown by a pixel stays off the other.
    assert not (ndi.binary_dilation(first, np.ones((3, 3))) & second).any()
    # Cores are the inner part of the interiors; everything else is as without them.
    plain = instance_targets(touching_discs)
    assert (plain[core] == INTERIOR).all() and (targets[~core] == plain[~core]).all()
    assert targets[32, 22] == CORE and targets[32, 41] == CORE and targets[32, 14] == INTERIOR


def test_instance_targets_code_contacts_and_cores_together(touching_discs: np.ndarray) -> None:
    both = instance_targets(touching_discs, contact=True, core=True)
    assert both[32, 31] == CONTACT and both[32, 32] == CONTACT
    assert both[32, 22] == CORE and both[32, 13] == BOUNDARY
    np.testing.assert_array_equal(both == CORE, instance_targets(touching_discs, core=True) == CORE)
    np.testing.assert_array_equal(
        both == CONTACT, instance_targets(touching_discs, contact=True) == CONTACT
    )


def test_postprocess_cores_keep_apart_discs_whose_boundary_is_missed(
    touching_discs: np.ndarray,
) -> None:
    targets = instance_targets(touching_discs, core=True)
    missed = targets.copy()
    missed[28:37, 31:33][missed[28:37, 31:33] == BOUNDARY] = INTERIOR  # a gap in the line
    with_core = instances_from_probabilities(0.8 * _one_hot(missed, 4) + 0.2 / 4)
    without = np.where(missed == CORE, INTERIOR, missed)
    three = instances_from_probabilities(0.8 * _one_hot(without) + 0.2 / 3)
    assert three.max() == 1  # the interiors join through the gap: one merged object
    assert with_core.max() == 2


def test_postprocess_rejects_probabilities_of_another_class_count() -> None:
    with pytest.raises(ValueError, match=r"\(3, H, W\) or \(4, H, W\)"):
        instances_from_probabilities(np.full((5, 4, 4), 0.2, np.float32))


def test_instance_target_of_tells_the_target_from_the_output_count() -> None:
    assert instance_target_of(3) == "boundary" and instance_target_of(4) == "core"
    with pytest.raises(ValueError, match="3 \\(boundary\\) or 4 \\(core\\) outputs, got 2"):
        instance_target_of(2)


def test_postprocess_drops_specks_below_min_size() -> None:
    classes = np.zeros((32, 32), np.uint8)
    classes[5:7, 5:7] = INTERIOR
    assert instances_from_probabilities(_one_hot(classes), min_size=10).max() == 0


@pytest.mark.parametrize("channels", [3, 4])
def test_confidence_lies_in_unit_interval(channels: int) -> None:
    probs = np.random.default_rng(0).dirichlet(np.ones(channels), (16, 16)).transpose(2, 0, 1)
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
