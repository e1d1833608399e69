"""models.metrics against slow, obvious reference implementations on tiny arrays."""

from itertools import permutations

import numpy as np
import pytest

from models.metrics import mean_scores, object_errors, object_matches, segmentation_scores


def _ref_overlap(p: set, g: set) -> tuple[float, float]:
    if not p and not g:
        return 1.0, 1.0
    inter = len(p & g)
    return 2 * inter / (len(p) + len(g)), inter / len(p | g)


def _pixels(img: np.ndarray, value) -> set:
    return {idx for idx, v in np.ndenumerate(img) if v == value}


def _ref_semantic(pred, gt, num_classes):
    dices, ious = [], []
    for c in range(1, num_classes):
        p, g = _pixels(pred, c), _pixels(gt, c)
        if p or g:
            d, i = _ref_overlap(p, g)
            dices.append(d)
            ious.append(i)
    if not dices:
        return {"dice": 1.0, "iou": 1.0}
    return {"dice": sum(dices) / len(dices), "iou": sum(ious) / len(ious)}


def _ref_matches(pred, gt) -> int:
    """Best one-to-one matching at IoU >= 0.5 by trying every assignment."""
    p_objs = [_pixels(pred, v) for v in sorted(set(pred.ravel()) - {0})]
    g_objs = [_pixels(gt, v) for v in sorted(set(gt.ravel()) - {0})]
    small, large = (p_objs, g_objs) if len(p_objs) <= len(g_objs) else (g_objs, p_objs)
    best = 0
    for perm in permutations(range(len(large)), len(small)):
        n = sum(1 for a, b in zip(small, perm, strict=True) if _ref_overlap(a, large[b])[1] >= 0.5)
        best = max(best, n)
    return best


def _random_labels(rng, shape, n):
    img = np.zeros(shape, dtype=np.int32)
    for label in range(1, n + 1):
        y, x = rng.integers(0, shape[0] - 2), rng.integers(0, shape[1] - 2)
        h, w = rng.integers(1, 4), rng.integers(1, 4)
        img[y : y + h, x : x + w] = label
    return img


@pytest.mark.parametrize("seed", range(20))
def test_semantic_scores_match_reference_on_random_images(seed):
    rng = np.random.default_rng(seed)
    pred = rng.integers(0, 3, size=(6, 7))
    gt = rng.integers(0, 3, size=(6, 7))
    got = segmentation_scores(pred, gt, kind="semantic", num_classes=3)
    want = _ref_semantic(pred, gt, 3)
    assert got == pytest.approx(want)


@pytest.mark.parametrize("seed", range(30))
def test_instance_scores_match_reference_on_random_images(seed):
    rng = np.random.default_rng(seed)
    gt = _random_labels(rng, (8, 8), int(rng.integers(0, 5)))
    pred = _random_labels(rng, (8, 8), int(rng.integers(0, 5)))
    if seed % 3 == 0:
        pred = gt.copy()
        pred[rng.random(gt.shape) < 0.15] = 0
    got = segmentation_scores(pred * 7, gt, kind="instance")
    dice, iou = _ref_overlap(_pixels(pred > 0, True), _pixels(gt > 0, True))
    tp = _ref_matches(pred, gt)
    n_p, n_g = len(set(pred.ravel()) - {0}), len(set(gt.ravel()) - {0})
    assert got["dice"] == pytest.approx(dice)
    assert got["iou"] == pytest.approx(iou)
    if n_p + n_g == 0:
        assert got["object_f1"] == 1.0
    else:
        assert got["object_f1"] == pytest.approx(2 * tp / (n_p + n_g))
        assert got["object_precision"] == pytest.approx(tp / n_p if n_p else 0.0)
        assert got["object_recall"] == pytest.approx(tp / n_g if n_g else 0.0)


def test_object_matches_counts_touching_objects_merged_as_one_miss():
    gt = np.zeros((4, 9), dtype=int)
    gt[:, :3], gt[:, 3:6], gt[:, 6:] = 1, 2, 3
    merged = (gt > 0).astype(int)
    assert object_matches(merged, gt) == (0, 1, 3)
    scores = segmentation_scores(merged, gt, kind="instance")
    assert scores["dice"] == 1.0
    assert scores["object_f1"] == 0.0


def test_object_matches_is_one_to_one_at_exactly_half_iou():
    gt = np.zeros((1, 4), dtype=int)
    gt[0, :2] = 1
    pred = np.array([[1, 2, 0, 0]])  # two halves, each at IoU exactly 0.5 with the gt object
    assert object_matches(pred, gt) == (1, 2, 1)


def test_object_matches_handles_images_without_background():
    gt = np.ones((3, 3), dtype=int)
    assert object_matches(gt * 5, gt) == (1, 1, 1)


def test_segmentation_scores_scores_empty_against_empty_as_perfect():
    z = np.zeros((4, 4), dtype=int)
    assert segmentation_scores(z, z, kind="semantic") == {"dice": 1.0, "iou": 1.0}
    assert segmentation_scores(z, z, kind="instance")["object_f1"] == 1.0


def test_segmentation_scores_rejects_bad_arguments():
    z = np.zeros((4, 4), dtype=int)
    with pytest.raises(ValueError, match="kind"):
        segmentation_scores(z, z, kind="panoptic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        segmentation_scores(z, z[:2], kind="semantic")
    with pytest.raises(ValueError, match="num_classes"):
        segmentation_scores(z, z, kind="semantic", num_classes=1)


def test_mean_scores_averages_each_key():
    got = mean_scores([{"dice": 0.5, "iou": 0.2}, {"dice": 1.0, "iou": 0.4, "object_f1": 0.3}])
    assert got == pytest.approx({"dice": 0.75, "iou": 0.3, "object_f1": 0.3})


def test_object_errors_name_a_merge_of_touching_objects():
    gt = np.zeros((4, 9), dtype=int)
    gt[:, :3], gt[:, 3:6], gt[:, 6:] = 1, 2, 3
    assert object_errors((gt > 0).astype(int), gt)["merged"] == 3
    assert segmentation_scores((gt > 0).astype(int), gt, kind="instance")["objects_merged"] == 1.0


def test_object_errors_name_a_split_object():
    gt = np.ones((3, 9), dtype=int)
    pred = np.repeat([[1, 1, 1, 2, 2, 2, 3, 3, 3]], 3, axis=0)  # thirds: IoU 1/3 each
    assert object_errors(pred, gt) == {
        "merged": 0,
        "split": 1,
        "missed": 0,
        "misshapen": 0,
        "spurious": 0,
    }


def test_object_errors_tell_missed_misshapen_and_spurious_apart():
    gt = np.zeros((6, 30), dtype=int)
    gt[:, :10] = 1  # found with an outline error: 6 of 10 columns, IoU 6/14
    gt[:, 20:24] = 2  # nothing predicted on it
    pred = np.zeros_like(gt)
    pred[:, 4:14] = 1
    pred[:, 26:] = 2  # on background only
    assert object_errors(pred, gt) == {
        "merged": 0,
        "split": 0,
        "missed": 1,
        "misshapen": 1,
        "spurious": 1,
    }
    scores = segmentation_scores(pred, gt, kind="instance")
    assert scores["objects_missed"] == 0.5
    assert scores["objects_spurious"] == 0.5


@pytest.mark.parametrize("seed", range(20))
def test_object_errors_give_every_unmatched_object_one_reason(seed):
    rng = np.random.default_rng(seed)
    gt = _random_labels(rng, (10, 10), int(rng.integers(0, 6)))
    pred = _random_labels(rng, (10, 10), int(rng.integers(0, 6)))
    matched, num_p, num_g = object_matches(pred, gt)
    errors = object_errors(pred, gt)
    reasons = errors["merged"] + errors["split"] + errors["missed"] + errors["misshapen"]
    assert reasons == num_g - matched
    assert 0 <= errors["spurious"] <= num_p - matched
