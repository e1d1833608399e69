"""Input checks, the validation split and validation scoring for fine-tuning."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.calibration import apply_offsets
from models.config import TrainConfig
from models.inference import labels_from_probabilities, predict_probabilities
from models.metrics import mean_scores, segmentation_scores
from models.networks import Segmenter


def check_pairs(
    images: Sequence[np.ndarray], masks: Sequence[np.ndarray], config: TrainConfig, what: str
) -> None:
    """Raise ``ValueError`` naming the first image/mask pair that cannot be trained on."""
    if len(images) == 0:
        raise ValueError(f"need at least one {what} image")
    if len(images) != len(masks):
        raise ValueError(f"{len(images)} {what} images but {len(masks)} masks")
    for index, (image, mask) in enumerate(zip(images, masks, strict=True)):
        image, mask = np.asarray(image), np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"{what} mask {index} must be (H, W), got shape {mask.shape}")
        if image.shape[:2] != mask.shape:
            raise ValueError(
                f"{what} mask {index} has size {mask.shape}, its image {image.shape[:2]}"
            )
        if not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == np.bool_):
            raise ValueError(f"{what} mask {index} must hold integers, got dtype {mask.dtype}")
        if mask.size and int(mask.min()) < 0:
            raise ValueError(f"{what} mask {index} has negative label {int(mask.min())}")
        if config.kind == "semantic" and mask.size and int(mask.max()) >= config.num_classes:
            raise ValueError(
                f"{what} mask {index} has class {int(mask.max())} "
                f"but num_classes={config.num_classes}"
            )


# Training images scored after each epoch when none are held out. Scoring every one made a
# 414-image, 3000-step run take over 25 min (bench-results/sweeps/scale-cpu, pool_ceiling.py);
# these scores are optimistic anyway, so a fixed sample picks an epoch as well.
MAX_TRAIN_VALIDATION = 16


def split_validation(
    n: int, val_fraction: float, rng: np.random.Generator
) -> tuple[list[int], list[int], str]:
    """Indices for training and validation, and where validation comes from.

    With fewer than 3 images (or ``val_fraction == 0``) nothing can be spared, so validation
    uses the training images ("train"): fine for picking an epoch, optimistic as a score. Then
    at most ``MAX_TRAIN_VALIDATION`` of them, drawn once, are scored after each epoch.
    """
    if n < 3 or val_fraction == 0:
        scored = list(range(n))
        if n > MAX_TRAIN_VALIDATION:
            scored = sorted(rng.choice(n, MAX_TRAIN_VALIDATION, replace=False).tolist())
        return list(range(n)), scored, "train"
    n_val = max(1, round(n * val_fraction))
    order = rng.permutation(n).tolist()
    return sorted(order[n_val:]), sorted(order[:n_val]), "holdout"


def selection_score(metrics: dict[str, float], kind: str) -> float:
    """What picks the best epoch: Dice, averaged with object F1 for instance models."""
    if kind == "instance":
        return 0.5 * (metrics.get("dice", 0.0) + metrics.get("object_f1", 0.0))
    return metrics.get("dice", 0.0)


def evaluate(
    net: Segmenter,
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    config: TrainConfig,
    offsets: Sequence[float] | None = None,
) -> dict[str, float]:
    """Mean scores of ``net`` over prepared images (C, H, W) and their label images (H, W),
    with a semantic model's class ``offsets`` applied when given (``models.calibration``)."""
    was_training = net.training
    net.eval()
    scores = []
    with torch.inference_mode():
        for image, mask in zip(images, masks, strict=True):
            probs = predict_probabilities(net, image)
            if offsets is not None:
                probs = apply_offsets(probs, offsets)
            labels = labels_from_probabilities(probs, config.kind).labels
            scores.append(
                segmentation_scores(labels, mask, kind=config.kind, num_classes=config.num_classes)
            )
    net.train(was_training)
    return mean_scores(scores)
