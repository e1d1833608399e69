"""Segmentation scores for the benchmark and for the service's model cards.

Semantic scores are Dice and IoU averaged over the foreground classes present in either image.
Instance scores add object-level precision, recall and F1 with a one-to-one matching of objects at
IoU >= 0.5 (the 2018 Data Science Bowl convention at its first threshold; Caicedo et al., Nature
Methods 16:1247, 2019), and the shares of objects left unmatched because they were merged, split,
missed or misshapen, or predicted where there is none (``object_errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

MATCH_IOU = 0.5

__all__ = ["MATCH_IOU", "mean_scores", "object_errors", "object_matches", "segmentation_scores"]


def segmentation_scores(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    kind: Literal["semantic", "instance"],
    num_classes: int = 2,
) -> dict[str, float]:
    """Score one predicted label image against its ground truth.

    ``semantic``: ``pred`` and ``gt`` hold class indices in ``0..num_classes-1`` (0 = background);
    ``dice`` and ``iou`` are averaged over the foreground classes that occur in ``gt`` or ``pred``.
    ``instance``: both hold instance ids (0 = background, any positive id = one object); ``dice``
    and ``iou`` are for foreground versus background, and ``object_precision``, ``object_recall``
    and ``object_f1`` count objects matched one-to-one at IoU >= 0.5.
    Empty against empty scores 1.0: nothing to find and nothing found.

    Shape: ``pred`` and ``gt`` (H, W) or any equal shape.
    """
    if kind not in ("semantic", "instance"):
        raise ValueError(f"kind must be 'semantic' or 'instance', got {kind!r}")
    if pred.shape != gt.shape:
        raise ValueError(f"pred shape {pred.shape} differs from gt shape {gt.shape}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if kind == "semantic":
        return _semantic_scores(np.asarray(pred), np.asarray(gt), num_classes)
    return _instance_scores(np.asarray(pred), np.asarray(gt))


def mean_scores(scores: Sequence[dict[str, float]]) -> dict[str, float]:
    """Average each key over images (keys missing from some images are averaged where present)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for s in scores:
        for key, value in s.items():
            sums[key] = sums.get(key, 0.0) + float(value)
            counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def object_matches(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int]:
    """Return (matched pairs, predicted objects, ground-truth objects) at IoU >= 0.5.

    The assignment maximises total IoU (Hungarian), so the matching is one-to-one even in the
    corner case of two candidates both at exactly 0.5.
    """
    return _Overlaps(pred, gt).counts()


def object_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, int]:
    """Why objects go unmatched at IoU >= 0.5, counted per object.

    Each unmatched ground-truth object gets the first of: ``merged`` (a prediction covers more
    than half of it and more than half of another ground-truth object: touching objects came
    out as one), ``split`` (more than half of each of two or more predictions lies in it),
    ``missed`` (under half of it is covered by predicted objects) and ``misshapen`` (covered,
    but no prediction reaches IoU 0.5: outline errors). An unmatched prediction of which under
    half lies on ground-truth objects is ``spurious``. Touching nuclei that merge call for a
    different remedy (labels of crowded images, seeds) than missed ones, so the benchmark and
    the model cards report these beside object F1.
    """
    return _errors(_Overlaps(pred, gt))


def _errors(t: _Overlaps) -> dict[str, int]:
    counts = {"merged": 0, "split": 0, "missed": 0, "misshapen": 0, "spurious": 0}
    if t.num_p == 0 or t.num_g == 0:
        counts["missed"], counts["spurious"] = t.num_g, t.num_p
        return counts
    covers = t.contingency > 0.5 * t.area_g[None, :]  # prediction i covers most of gt j
    inside = t.contingency > 0.5 * t.area_p[:, None]  # most of prediction i lies in gt j
    wide = covers.sum(axis=1) >= 2  # predictions that cover most of two gt objects or more
    unmatched = np.ones(t.num_g, dtype=bool)
    unmatched[t.matched_gt] = False
    # Each unmatched gt object takes the first reason that applies, in this order.
    merged = unmatched & (covers & wide[:, None]).any(axis=0)
    split = unmatched & ~merged & (inside.sum(axis=0) >= 2)
    rest = unmatched & ~merged & ~split
    missed = rest & (t.contingency.sum(axis=0) < 0.5 * t.area_g)
    counts["merged"], counts["split"] = int(merged.sum()), int(split.sum())
    counts["missed"], counts["misshapen"] = int(missed.sum()), int((rest & ~missed).sum())
    unmatched_p = np.ones(t.num_p, dtype=bool)
    unmatched_p[t.matched_p] = False
    off_objects = t.contingency.sum(axis=1) < 0.5 * t.area_p
    counts["spurious"] = int((unmatched_p & off_objects).sum())
    return counts


class _Overlaps:
    """Pixel overlaps of every predicted with every ground-truth object (background left out),
    and the one-to-one matching at IoU >= 0.5."""

    def __init__(self, pred: np.ndarray, gt: np.ndarray) -> None:
        _, p = np.unique(pred, return_inverse=True)
        _, g = np.unique(gt, return_inverse=True)
        p = p.reshape(-1)
        g = g.reshape(-1)
        n_p = int(p.max()) + 1 if p.size else 0
        n_g = int(g.max()) + 1 if g.size else 0
        # contingency[i, j] = pixels with pred label i and gt label j (0 = background if present)
        contingency = np.bincount(p * n_g + g, minlength=n_p * n_g).reshape(n_p, n_g)
        area_p = contingency.sum(axis=1)
        area_g = contingency.sum(axis=0)
        if bool((pred == 0).any()):
            contingency, area_p = contingency[1:], area_p[1:]
        if bool((gt == 0).any()):
            contingency, area_g = contingency[:, 1:], area_g[1:]
        self.contingency, self.area_p, self.area_g = contingency, area_p, area_g
        self.num_p, self.num_g = contingency.shape
        self.matched_p, self.matched_gt = self._match()

    def counts(self) -> tuple[int, int, int]:
        """(matched, predicted, ground-truth) object counts."""
        return len(self.matched_gt), self.num_p, self.num_g

    def _match(self) -> tuple[np.ndarray, np.ndarray]:
        none = np.zeros(0, dtype=np.int64)
        if self.num_p == 0 or self.num_g == 0:
            return none, none
        union = self.area_p[:, None] + self.area_g[None, :] - self.contingency
        iou = self.contingency / np.maximum(union, 1)
        candidates = iou >= MATCH_IOU
        if not candidates.any():
            return none, none
        rows = np.flatnonzero(candidates.any(axis=1))
        cols = np.flatnonzero(candidates.any(axis=0))
        sub = iou[np.ix_(rows, cols)]
        r, c = linear_sum_assignment(sub, maximize=True)
        keep = sub[r, c] >= MATCH_IOU
        return rows[r[keep]], cols[c[keep]]


def _overlap_scores(p: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    inter = float(np.count_nonzero(p & g))
    total = float(np.count_nonzero(p)) + float(np.count_nonzero(g))
    if total == 0:
        return 1.0, 1.0
    return 2.0 * inter / total, inter / (total - inter)


def _semantic_scores(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> dict[str, float]:
    dices: list[float] = []
    ious: list[float] = []
    for c in range(1, num_classes):
        p = pred == c
        g = gt == c
        if not (p.any() or g.any()):
            continue
        dice, iou = _overlap_scores(p, g)
        dices.append(dice)
        ious.append(iou)
    if not dices:
        return {"dice": 1.0, "iou": 1.0}
    return {"dice": float(np.mean(dices)), "iou": float(np.mean(ious))}


def _instance_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    dice, iou = _overlap_scores(pred > 0, gt > 0)
    table = _Overlaps(pred, gt)
    tp, num_p, num_g = table.counts()
    if num_p == 0 and num_g == 0:
        precision = recall = f1 = 1.0
    else:
        precision = tp / num_p if num_p else 0.0
        recall = tp / num_g if num_g else 0.0
        f1 = 2.0 * tp / (num_p + num_g)
    return {
        "dice": dice,
        "iou": iou,
        "object_f1": f1,
        "object_precision": precision,
        "object_recall": recall,
        **_error_rates(_errors(table), num_p, num_g),
    }


def _error_rates(counts: dict[str, int], num_p: int, num_g: int) -> dict[str, float]:
    """``objects_merged`` / ``_split`` / ``_missed`` / ``_misshapen`` as fractions of the
    ground-truth objects, ``objects_spurious`` of the predicted ones (0 where there are none)."""
    rates = {f"objects_{k}": v / num_g if num_g else 0.0 for k, v in counts.items()}
    rates["objects_spurious"] = counts["spurious"] / num_p if num_p else 0.0
    return rates
