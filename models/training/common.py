"""Helpers shared by the pretraining and fine-tuning loops."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from models.data.normalize import DEFAULT_PERCENTILES, prepare_image


def normalisation(polarity: str) -> dict[str, Any]:
    """The ``normalisation`` entry of a checkpoint config; inference repeats it exactly."""
    return {
        "method": "percentile",
        "low": DEFAULT_PERCENTILES[0],
        "high": DEFAULT_PERCENTILES[1],
        "per_channel": True,
        "polarity": polarity,
    }


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch and Python, and return a NumPy generator for crop sampling."""
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def prepare_images(
    images: Sequence[np.ndarray], in_channels: int, polarity: str
) -> list[np.ndarray]:
    """Channel-adapt and normalise each image. Shape: [(H, W[, C])] -> [(in_channels, H, W)]."""
    if len(images) == 0:
        raise ValueError("need at least one image")
    prepared = []
    for index, image in enumerate(images):
        try:
            prepared.append(prepare_image(image, in_channels, polarity))
        except ValueError as error:
            raise ValueError(f"image {index}: {error}") from error
    return prepared


def fingerprint(images: Sequence[np.ndarray], masks: Sequence[np.ndarray] = ()) -> str:
    """SHA-256 over shapes, dtypes and bytes of the training images and masks."""
    digest = hashlib.sha256()
    for array in [*images, *masks]:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def warmup_lr(step: int, base_lr: float, warmup: int = 50) -> float:
    """Linear warm-up over the first ``warmup`` steps, then constant."""
    return base_lr * min(1.0, (step + 1) / warmup)


def cosine_factor(done: float) -> float:
    """Cosine decay from 1 to 0 as ``done`` (the budget's fraction spent, by steps or by minutes:
    the total step count of a minutes budget is not known in advance) goes from 0 to 1."""
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, done))))


def place_module(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move to ``device``; on the CPU also to channels_last, which trains ~4x faster there."""
    module = module.to(device)
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return module


def place_batch(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a (B, C, H, W) batch to ``device`` in the memory format ``place_module`` uses."""
    batch = batch.to(device)
    if device.type == "cpu":
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch
