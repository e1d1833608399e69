"""Random crops from a list of images (and targets), padded when an image is smaller."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from models.data.augment import IGNORE_INDEX, augment_pair, build_augmentation


WEIGHTINGS = ("area", "image")


def _pad_min(x: torch.Tensor, size: int, value: float | None) -> torch.Tensor:
    """Pad the last two dims up to ``size`` (reflect for images, constant for masks)."""
    h, w = x.shape[-2:]
    ph, pw = max(0, size - h), max(0, size - w)
    if ph == 0 and pw == 0:
        return x
    if value is None:
        mode = "reflect" if ph < h and pw < w else "replicate"
        return F.pad(x[None], (0, pw, 0, ph), mode=mode)[0]
    return F.pad(x, (0, pw, 0, ph), value=value)


class CropSampler:
    """Draws random ``crop_size`` crops, optionally with aligned targets, and augments them.

    ``weighting="area"`` samples images in proportion to their area, so a large image
    contributes more crops; ``"image"`` gives every image the same share, whatever its size.
    With ``candidates > 1`` each crop is the most varied (highest standard deviation) of that
    many draws, which steers self-supervised tasks away from empty background.
    images: (C, H, W) float32 arrays; targets: (H, W) integer arrays or None.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        targets: Sequence[np.ndarray] | None,
        crop_size: int,
        augmentation: str = "default",
        generator: np.random.Generator | None = None,
        candidates: int = 1,
        invert_probability: float = 0.0,
        weighting: str = "area",
    ) -> None:
        if not images:
            raise ValueError("need at least one image")
        if crop_size < 8:
            raise ValueError(f"crop_size must be >= 8, got {crop_size}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        if targets is not None and len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = [_pad_min(torch.from_numpy(i), crop_size, None) for i in images]
        self.targets = (
            None
            if targets is None
            else [
                _pad_min(torch.from_numpy(t.astype(np.int64)), crop_size, IGNORE_INDEX)
                for t in targets
            ]
        )
        self.crop_size, self.candidates = crop_size, candidates
        self.transform = build_augmentation(augmentation, invert_probability)
        self.rng = generator or np.random.default_rng()
        if weighting == "area":
            shares = np.array([i.shape[-1] * i.shape[-2] for i in self.images], dtype=np.float64)
        else:
            shares = np.ones(len(self.images))
        self.weights = shares / shares.sum()

    def _window(self) -> tuple[int, tuple[slice, slice]]:
        index = int(self.rng.choice(len(self.images), p=self.weights))
        h, w = self.images[index].shape[-2:]
        y = int(self.rng.integers(0, h - self.crop_size + 1))
        x = int(self.rng.integers(0, w - self.crop_size + 1))
        return index, (slice(y, y + self.crop_size), slice(x, x + self.crop_size))

    def _one(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        draws = [self._window() for _ in range(self.candidates)]
        index, window = max(draws, key=lambda d: float(self.images[d[0]][(..., *d[1])].std()))
        crop = self.images[index][(..., *window)]
        if self.targets is None:
            dummy = torch.zeros(crop.shape[-2:], dtype=torch.int64)
            return augment_pair(self.transform, crop, dummy)[0], None
        return augment_pair(self.transform, crop, self.targets[index][window])

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Shape: -> (B, C, S, S) float32, (B, S, S) int64 or None."""
        pairs = [self._one() for _ in range(batch_size)]
        images = torch.stack([p[0] for p in pairs]).float()
        if self.targets is None:
            return images, None
        return images, torch.stack([p[1] for p in pairs]).long()  # type: ignore[misc]
