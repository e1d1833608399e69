"""Are dsb2018 objects predicted too large, and does undoing it raise Dice? Pool images only.

One masked K=16 model (seed-0 draw, as ``contact-cpu/diagnose.py``: pretraining 1000,
fine-tuning 750 steps) is scored on the 150 candidates outside the seed 0-2 draws:

1. matched objects (IoU >= 0.5): median predicted / true area, share with IoU >= 0.9 (what the
   loop counts as "kept unchanged"), at foreground thresholds 0.5 / 0.6 / 0.7;
2. logit offsets -alpha * log(w_c), w the class weights of the training masks (for plain
   weighted cross-entropy, alpha = 1 undoes the weighting exactly);
3. batch-norm statistics of each image instead of the running ones (AdaBN-style);
4. the same draw at K=4 and K=16 fine-tuned without class weights.

Usage (about 8 min):
    PYTHONPATH=bench-results/sweeps/contact-cpu \
        python bench-results/sweeps/boundary-cpu/boundary.py .benchdata/dsb2018
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch
from pool_contact import setup  # ../contact-cpu (PYTHONPATH): the same images and encoder
from scipy.optimize import linear_sum_assignment
from torch import nn

import models.training.finetune as finetune
from models import TrainConfig, train
from models.calibration import apply_offsets
from models.data import polarity_of, prepare_image
from models.inference import labels_from_probabilities, raw_probabilities
from models.losses import class_weights_from_targets
from models.metrics import segmentation_scores
from models.networks import pad_to_multiple
from models.postprocess import (
    MIN_OBJECT_CONFIDENCE,
    confidence_from_probabilities,
    drop_unsure,
    instance_targets,
    instances_from_probabilities,
)


def matched(pred: np.ndarray, truth: np.ndarray) -> list[tuple[float, float]]:
    """(IoU, predicted / true area) of each one-to-one match with IoU >= 0.5."""
    if pred.max() == 0 or truth.max() == 0:
        return []
    joint = np.zeros((pred.max() + 1, truth.max() + 1))
    np.add.at(joint, (pred.ravel(), truth.ravel()), 1)
    inter, pa, ta = joint[1:, 1:], joint[1:].sum(1), joint[:, 1:].sum(0)
    iou = inter / (pa[:, None] + ta[None, :] - inter + 1e-9)
    rows, cols = linear_sum_assignment(-iou)
    return [(iou[a, b], pa[a] / ta[b]) for a, b in zip(rows, cols, strict=True) if iou[a, b] >= 0.5]


def labels_of(probs: np.ndarray, foreground: float = 0.5) -> np.ndarray:
    labels = instances_from_probabilities(probs, foreground_threshold=foreground)
    confidence = confidence_from_probabilities(probs, "instance")
    return drop_unsure(labels, confidence, MIN_OBJECT_CONFIDENCE)


def summary(name: str, rows: list[tuple[float, float]], colour: np.ndarray) -> str:
    r = np.array(rows)
    return (
        f"{name} | grey {r[~colour, 0].mean():.3f}/{r[~colour, 1].mean():.3f}"
        f" | colour {r[colour, 0].mean():.3f}/{r[colour, 1].mean():.3f}"
        f" | all {r[:, 0].mean():.3f}/{r[:, 1].mean():.3f}"
    )


def scores(labels: list[np.ndarray], truths: list[np.ndarray]) -> list[tuple[float, float]]:
    out = []
    for lab, truth in zip(labels, truths, strict=True):
        s = segmentation_scores(lab, truth, kind="instance")
        out.append((s["dice"], s["object_f1"]))
    return out


@torch.no_grad()
def image_bn_probabilities(model, image: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    net = copy.deepcopy(model.build_segmenter()).eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.train()  # normalise with this image's statistics
    x = prepare_image(image, int(model.config["in_channels"]), polarity_of(model.config))
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    padded, (h, w) = pad_to_multiple(t, net.encoder.output_stride)
    return net(padded).softmax(1)[0, :, :h, :w].numpy()


def main() -> None:
    root = Path(sys.argv[1])
    data, draws, held, colour, encoder = setup(root)
    truths = [data.candidate_masks[i] for i in held]
    images = [data.candidate_images[i] for i in held]

    def fit(k: int) -> object:
        ids = draws[0][:k]
        config = TrainConfig(kind="instance", steps=750, device="cpu", seed=0)
        return train(
            [data.candidate_images[i] for i in ids],
            [data.candidate_masks[i] for i in ids],
            config,
            init=encoder,
        )

    model = fit(16)
    probs = [raw_probabilities(model, im, device="cpu") for im in images]
    for fg in (0.5, 0.6, 0.7):
        labels = [labels_of(p, fg) for p in probs]
        line = summary(f"1. foreground > {fg}", scores(labels, truths), colour)
        for name, sel in (("grey", ~colour), ("colour", colour)):
            m = np.array([x for j in np.flatnonzero(sel) for x in matched(labels[j], truths[j])])
            ratio, kept = np.median(m[:, 1]), np.mean(m[:, 0] >= 0.9)
            line += f" | {name} area ratio {ratio:.3f} IoU>=0.9 {kept:.3f}"
        print(line, flush=True)
    targets = [
        torch.from_numpy(instance_targets(data.candidate_masks[i]).astype(np.int64))
        for i in draws[0][:16]
    ]
    weights = class_weights_from_targets(targets, 3).numpy()
    for alpha in (0.5, 1.0):
        labels = [labels_of(apply_offsets(p, -alpha * np.log(weights))) for p in probs]
        print(
            summary(
                f"2. offsets -{alpha} log w, w={weights.round(3)}", scores(labels, truths), colour
            ),
            flush=True,
        )
    labels = [
        labels_from_probabilities(image_bn_probabilities(model, im), "instance").labels
        for im in images
    ]
    print(summary("3. per-image batch-norm statistics", scores(labels, truths), colour), flush=True)
    finetune.class_weights_from_targets = lambda targets, num_classes, **_: torch.ones(num_classes)
    for k in (4, 16):
        unweighted = fit(k)
        labels = [labels_of(raw_probabilities(unweighted, im, device="cpu")) for im in images]
        print(
            summary(f"4. K={k} without class weights", scores(labels, truths), colour), flush=True
        )


if __name__ == "__main__":
    main()
