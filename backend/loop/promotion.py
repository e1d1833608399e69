"""Scoring versions on validation images, and the rule that keeps a worse model from going live."""

import numpy as np


def primary_metric(kind: str) -> str:
    # Scientists count objects: for instance collections, object F1 decides.
    return "object_f1" if kind == "instance" else "dice"


def tiebreak_metric(kind: str) -> str:
    # On a few validation images object F1 is often tied (1.0 on an image with a handful of
    # nuclei); the pixel overlap then tells the versions apart.
    return "dice" if kind == "instance" else "iou"


# Scores are means of rounded per-image figures: closer than this counts as a tie.
TIE = 1e-6


def score(
    versions: list[list],  # type: ignore[type-arg]
    images: list[np.ndarray],
    masks: list[np.ndarray],
    kind: str,
    num_classes: int,
) -> list[dict[str, float]]:
    """Mean Dice, IoU (and object F1 for instance) over labeled images of each version, given
    as the checkpoints it averages (``models.predict``), with unsure objects left out as in the
    proposals, so the gate judges what the scientist is shown. A version without checkpoints
    (no active one yet) scores ``{}``.

    Each network's probabilities are computed once per image and shared: a candidate averages
    the active version's networks, so scoring each version on its own would predict those twice.
    """
    from models.inference import labels_from_probabilities, mean_probabilities, probabilities
    from models.metrics import mean_scores, segmentation_scores
    from models.postprocess import MIN_OBJECT_CONFIDENCE

    per_version: list[list[dict[str, float]]] = [[] for _ in versions]
    for image, mask in zip(images, masks, strict=True):
        shared = {id(net): probabilities(net, image) for nets in versions for net in nets}
        for nets, scores in zip(versions, per_version, strict=True):
            if not nets:
                continue
            probs = mean_probabilities([shared[id(net)] for net in nets])
            labels = labels_from_probabilities(probs, kind, MIN_OBJECT_CONFIDENCE).labels
            scores.append(segmentation_scores(labels, mask, kind=kind, num_classes=num_classes))  # type: ignore[arg-type]
    # objects_merged: the share of validation objects fused with a neighbour, shown on the
    # model card as the usual reason for a low object F1 (models.metrics.object_errors).
    keep = ("dice", "iou", "object_f1", "objects_merged")
    return [
        {k: round(float(v), 5) for k, v in mean_scores(scores).items() if k in keep}
        if scores
        else {}
        for scores in per_version
    ]


def decide(
    candidate: dict[str, float], baseline: dict[str, float] | None, has_active: bool, kind: str
) -> tuple[bool, str]:
    """(promote, reason). A candidate goes live only if it is at least as good as the active
    version on the same validation images: better on the primary metric, or tied there and at
    least as good on the tie-break metric."""
    metric = primary_metric(kind)
    if not has_active:
        if not candidate:
            return True, "first version; not validated (only one labeled image)"
        return True, f"first version ({metric} {candidate.get(metric, 0):.3f})"
    if not candidate or baseline is None:
        return False, "no validation images to compare with the active version; label more images"
    new, old = candidate.get(metric, 0.0), baseline.get(metric, 0.0)
    if not np.isfinite(new):
        return False, f"{metric} is not a number"
    same = "on the same validation images"
    if new > old + TIE:
        return True, f"{metric} {new:.3f} > active {old:.3f} {same}"
    if new < old - TIE:
        return False, f"{metric} {new:.3f} < active {old:.3f} {same}"
    second = tiebreak_metric(kind)
    new2, old2 = candidate.get(second, 0.0), baseline.get(second, 0.0)
    if np.isfinite(new2) and new2 >= old2 - TIE:
        return True, f"{metric} tied at {new:.3f}; {second} {new2:.3f} >= active {old2:.3f} {same}"
    return False, f"{metric} tied at {new:.3f}; {second} {new2:.3f} < active {old2:.3f} {same}"
