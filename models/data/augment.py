"""Joint image + mask augmentation with torchvision.transforms.v2.

Geometric transforms move the image (``tv_tensors.Image``) and the target (``tv_tensors.Mask``)
together, with nearest-neighbour sampling for the mask; intensity transforms touch only the image.
Pixels an affine warp brings in from outside the crop get ``IGNORE_INDEX`` in the mask.
"""

from __future__ import annotations

from typing import Any

import torch
import torchvision.transforms.v2 as v2
from torchvision import tv_tensors

IGNORE_INDEX = 255


class RandomRot90(v2.Transform):
    """Rotate by a random multiple of 90 degrees (exact, no interpolation).

    Square inputs keep H and W; the crops used in training are square.
    """

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"k": int(torch.randint(4, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, torch.Tensor):
            return inpt
        out = torch.rot90(inpt.as_subclass(torch.Tensor), params["k"], dims=(-2, -1))
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


class _ImageOnly(v2.Transform):
    """Base for photometric transforms: masks and non-tensors pass through unchanged."""

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        out = self.apply(inpt.as_subclass(torch.Tensor), params)
        return tv_tensors.wrap(out, like=inpt)

    def apply(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError


class RandomIntensity(_ImageOnly):
    """Per-channel random contrast (gain) and brightness (offset) on a normalised image."""

    def __init__(self, gain: tuple[float, float] = (0.7, 1.4), offset: float = 0.15) -> None:
        super().__init__()
        if not 0 < gain[0] <= gain[1]:
            raise ValueError(f"gain must be an increasing positive range, got {gain}")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        self.gain, self.offset = gain, offset

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"u": torch.rand(2)}

    def apply(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        u = params["u"]
        gain = self.gain[0] + (self.gain[1] - self.gain[0]) * u[0]
        offset = self.offset * (2 * u[1] - 1)
        return image * gain + offset


class RandomGaussianNoise(_ImageOnly):
    """Add zero-mean Gaussian noise with a standard deviation drawn from ``[0, max_sigma]``."""

    def __init__(self, max_sigma: float = 0.05) -> None:
        super().__init__()
        if max_sigma < 0:
            raise ValueError(f"max_sigma must be >= 0, got {max_sigma}")
        self.max_sigma = max_sigma

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"sigma": float(torch.rand(()).item()) * self.max_sigma}

    def apply(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return image + params["sigma"] * torch.randn_like(image)


class RandomInvert(_ImageOnly):
    """Invert a normalised image (``1 - x``): dark objects on bright become bright on dark."""

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {}

    def apply(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return 1.0 - image


def build_augmentation(strength: str = "default", invert_probability: float = 0.0) -> v2.Transform:
    """Flips, 90-degree rotations, occasional scale/rotation affine, intensity and noise, and
    with ``invert_probability > 0`` random intensity inversion (polarity augmentation).

    ``strength="none"`` returns the identity (used for validation and tests).
    """
    if not 0 <= invert_probability <= 1:
        raise ValueError(f"invert_probability must be in [0, 1], got {invert_probability!r}")
    if strength == "none":
        return v2.Identity()
    if strength != "default":
        raise ValueError(f"unknown augmentation strength {strength!r}; use 'default' or 'none'")
    invert = [v2.RandomApply([RandomInvert()], p=invert_probability)] if invert_probability else []
    fill = {tv_tensors.Image: 0.0, tv_tensors.Mask: IGNORE_INDEX}
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            RandomRot90(),
            v2.RandomApply(
                [v2.RandomAffine(degrees=180, scale=(0.75, 1.33), fill=fill)],  # type: ignore[arg-type]
                p=0.3,
            ),
            *invert,
            RandomIntensity(),
            v2.RandomApply([RandomGaussianNoise()], p=0.3),
        ]
    )


def augment_pair(
    transform: v2.Transform, image: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one joint transform. Shape: (C, H, W), (H, W) -> (C, H, W), (H, W)."""
    out_image, out_mask = transform(tv_tensors.Image(image), tv_tensors.Mask(mask))
    return out_image.as_subclass(torch.Tensor), out_mask.as_subclass(torch.Tensor)
