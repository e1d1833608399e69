"""Prediction for images of any size: tiled, blended, optionally with flip test-time
augmentation."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.calibration import apply_offsets
from models.checkpoint import Checkpoint
from models.data import (
    channels_fit_together,
    polarity_of,
    predict_tiled,
    prepare_image,
    tile_starts,
)
from models.device import resolve_device
from models.networks import Segmenter, pad_to_multiple
from models.postprocess import (
    MIN_OBJECT_CONFIDENCE,
    confidence_from_probabilities,
    drop_unsure,
    instance_target_of,
    instances_from_probabilities,
    semantic_from_probabilities,
)

TILE = 1024
OVERLAP = 64
_FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))


@dataclass
class Prediction:
    """labels: (H, W) int32 instance ids or class indices; confidence: (H, W) float32 in [0, 1]."""

    labels: np.ndarray
    confidence: np.ndarray


def _fuse_conv_bn(module: nn.Module) -> None:
    """Fold each Conv2d -> BatchNorm2d pair inside a Sequential into the convolution, in place."""
    for child in module.children():
        if isinstance(child, nn.Sequential):
            for i in range(len(child) - 1):
                conv, norm = child[i], child[i + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                    child[i] = fuse_conv_bn_eval(conv, norm)
                    child[i + 1] = nn.Identity()
        _fuse_conv_bn(child)


def prepare_for_inference(net: Segmenter, device: torch.device) -> Segmenter:
    """An eval-mode copy with batch norms folded, in channels_last memory format on the CPU
    (1.5-2x faster convolutions there). The argument is left untouched."""
    net = copy.deepcopy(net).eval()
    _fuse_conv_bn(net)
    net = net.to(device)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return net


@torch.inference_mode()
def predict_probabilities(
    net: Segmenter,
    image: np.ndarray,
    *,
    tta: bool = False,
    tile: int = TILE,
    overlap: int = OVERLAP,
) -> np.ndarray:
    """Softmax probabilities for a prepared image. Shape: (C, H, W) float32 -> (K, H, W) float32."""
    device = next(net.parameters()).device
    channels_last = device.type == "cpu"
    flips = _FLIPS if tta else _FLIPS[:1]

    def probabilities(x: torch.Tensor) -> torch.Tensor:
        # (1, C, h, w) -> (1, K, h, w), averaged over flips
        total = None
        for dims in flips:
            view = x.flip(dims) if dims else x
            if channels_last:
                view = view.contiguous(memory_format=torch.channels_last)
            probs = net(view).softmax(dim=1)
            probs = probs.flip(dims) if dims else probs
            total = probs if total is None else total + probs
        return total / len(flips)  # type: ignore[operator]

    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).to(device)
    out = predict_tiled(probabilities, tensor, net.head.out_channels, tile=tile, overlap=overlap)
    return out.float().cpu().numpy()


def labels_from_probabilities(
    probs: np.ndarray, kind: str, min_object_confidence: float = MIN_OBJECT_CONFIDENCE
) -> Prediction:
    """Post-process probabilities of an ``instance`` or ``semantic`` model. Shape: (K, H, W).

    Instance objects whose mean confidence is under ``min_object_confidence`` are dropped
    (``models.postprocess.drop_unsure``); 0 keeps every object."""
    confidence = confidence_from_probabilities(probs, kind)
    if kind == "instance":
        labels = drop_unsure(instances_from_probabilities(probs), confidence, min_object_confidence)
    else:
        labels = semantic_from_probabilities(probs)
    return Prediction(labels=labels, confidence=confidence)


def predict(
    model: Checkpoint | Sequence[Checkpoint],
    image: np.ndarray,
    *,
    tta: bool = False,
    device: str = "auto",
    min_object_confidence: float = MIN_OBJECT_CONFIDENCE,
    calibrated: bool = True,
) -> Prediction:
    """Label image and confidence for one image (H, W) or (H, W, C) of any size and dtype.

    The network is built once per checkpoint and device and reused by later calls. Several
    checkpoints of one kind and class count are an ensemble: their probabilities are averaged
    before post-processing (two loop versions trained on different image types did better
    averaged than either alone, ``bench-results/loop-history/replay_ensemble.txt``). For
    instance models, ``min_object_confidence`` drops objects whose mean confidence is lower
    (see ``models.postprocess.drop_unsure``; the default is what the service proposes and what
    fine-tuning validates on); 0 keeps every object. A semantic model's class offsets
    (``checkpoint.config["calibration"]``, see ``models.calibration``) are applied unless
    ``calibrated`` is False.
    """
    members = check_ensemble([model] if isinstance(model, Checkpoint) else list(model))
    probs = mean_probabilities(
        [probabilities(m, image, tta=tta, device=device, calibrated=calibrated) for m in members]
    )
    kind = str(members[0].config["kind"])
    return labels_from_probabilities(probs, kind, min_object_confidence)


def probabilities(
    model: Checkpoint,
    image: np.ndarray,
    *,
    tta: bool = False,
    device: str = "auto",
    calibrated: bool = True,
) -> np.ndarray:
    """One segmenter's probabilities for one image, with its class offsets unless
    ``calibrated`` is False: what ``predict`` averages. Shape: (H, W[, C]) -> (K, H, W)."""
    probs = raw_probabilities(model, image, tta=tta, device=device)
    return calibrate(model, probs) if calibrated else probs


def mean_probabilities(members: Sequence[np.ndarray]) -> np.ndarray:
    """The ensemble's probabilities: the mean of its members', summed in order (so a caller
    that computed each member's once gets exactly what ``predict`` gets)."""
    total = members[0]
    for probs in members[1:]:
        total = total + probs
    return total / len(members)


def check_ensemble(models: list[Checkpoint]) -> list[Checkpoint]:
    """``models`` if they can be averaged: segmenters of one kind with the same outputs (for
    instance models, the same ``instance_target``)."""
    if not models:
        raise ValueError("predict needs at least one model checkpoint")
    for member in models:
        _require_segmenter(member)
    inputs = {int(m.config["in_channels"]) for m in models}
    if not channels_fit_together(inputs):
        raise ValueError(
            f"the models to average take images of {' and '.join(map(str, sorted(inputs)))} "
            "channels, which no one image fits; give models trained on the same kind of images"
        )
    _check_instance_targets(models)
    outputs = {(str(m.config["kind"]), int(m.config["out_channels"])) for m in models}
    if len(outputs) > 1:
        found = ", ".join(f"{k} with {c} outputs" for k, c in sorted(outputs))
        raise ValueError(
            f"the models to average predict different things ({found}); "
            "give models of one collection kind and class list"
        )
    return models


def _check_instance_targets(models: list[Checkpoint]) -> None:
    """Refuse instance models trained on different targets: the channel after boundary is the
    core in one and absent in the other, so their averaged probabilities would mean nothing."""
    if any(m.config["kind"] != "instance" for m in models):
        return
    targets = {instance_target_of(int(m.config["out_channels"])) for m in models}
    if len(targets) > 1:
        raise ValueError(
            "the instance models to average were trained on different instance targets "
            f"({' and '.join(sorted(targets))}); give models trained with one instance_target"
        )


def raw_probabilities(
    model: Checkpoint, image: np.ndarray, *, tta: bool = False, device: str = "auto"
) -> np.ndarray:
    """The segmenter's softmax for one image, before any class offsets. Shape: (H, W[, C]) ->
    (K, H, W) float32."""
    _require_segmenter(model)
    net = model.module(resolve_device(device))
    prepared = prepare_image(
        np.asarray(image), int(model.config["in_channels"]), polarity_of(model.config)
    )
    return predict_probabilities(net, prepared, tta=tta)


def _require_segmenter(model: Checkpoint) -> None:
    if model.role != "segmenter":
        raise ValueError("predict needs a trained segmenter checkpoint, not a pretext checkpoint")


def calibrate(model: Checkpoint, probs: np.ndarray) -> np.ndarray:
    """``probs`` with the checkpoint's class offsets applied; unchanged for a model without
    them (instance models, ``calibration="none"``). Shape: (K, H, W) -> (K, H, W)."""
    calibration = model.config.get("calibration")
    return apply_offsets(probs, calibration["offsets"]) if calibration else probs


@torch.inference_mode()
def embed(model: Checkpoint, image: np.ndarray, *, device: str = "auto") -> np.ndarray:
    """Global-average-pooled deepest encoder features, averaged over tiles by area.

    Works for pretext and segmenter checkpoints. Shape: (H, W[, C]) -> (D,) float32.
    """
    net = model.module(resolve_device(device))
    prepared = prepare_image(
        np.asarray(image), int(model.config["in_channels"]), polarity_of(model.config)
    )
    tensor = torch.from_numpy(prepared).to(next(net.parameters()).device)
    _, h, w = tensor.shape
    total, weight = None, 0
    for y in tile_starts(h, min(TILE, h), OVERLAP):
        for x in tile_starts(w, min(TILE, w), OVERLAP):
            patch = tensor[None, :, y : y + TILE, x : x + TILE]
            padded, _ = pad_to_multiple(patch, net.encoder.output_stride)
            if next(net.parameters()).device.type == "cpu":
                padded = padded.contiguous(memory_format=torch.channels_last)
            pooled = net.encoder(padded)[-1].mean(dim=(0, 2, 3)) * patch.shape[-1] * patch.shape[-2]
            total = pooled if total is None else total + pooled
            weight += patch.shape[-1] * patch.shape[-2]
    return (total / weight).float().cpu().numpy()  # type: ignore[operator]
