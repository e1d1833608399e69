"""Class-weighted cross-entropy plus Dice, the usual loss for few-label segmentation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.losses.dice import DiceLoss


@dataclass(frozen=True)
class Emphasis:
    """Target pixels coded ``code`` are class ``as_class``, and their cross-entropy counts
    ``1 + weight`` times (a per-pixel weight map in the manner of Ronneberger et al., "U-Net",
    2015, arXiv:1505.04597, for the line between touching objects)."""

    code: int
    as_class: int
    weight: float

    def decode(self, target: torch.Tensor) -> torch.Tensor:
        """``target`` with the code replaced by the class it stands for."""
        return torch.where(target == self.code, self.as_class, target)


class CEDiceLoss(nn.Module):
    """``CE(weights) + dice_weight * Dice``; both ignore ``ignore_index``. With ``emphasis``,
    the cross-entropy of its pixels is weighted up (see ``Emphasis``).

    Shape: logits (B, K, H, W), target (B, H, W) int64 -> scalar.
    """

    def __init__(
        self,
        class_weights: torch.Tensor | None = None,
        dice_weight: float = 1.0,
        ignore_index: int = 255,
        emphasis: Emphasis | None = None,
    ) -> None:
        super().__init__()
        if dice_weight < 0:
            raise ValueError(f"dice_weight must be >= 0, got {dice_weight}")
        if emphasis is not None and emphasis.weight < 0:
            raise ValueError(f"emphasis weight must be >= 0, got {emphasis.weight}")
        self.ce = nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore_index)
        self.dice = DiceLoss(ignore_index=ignore_index)
        self.dice_weight = dice_weight
        self.emphasis = emphasis

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel_weights = None
        if self.emphasis is not None:
            marked = target == self.emphasis.code
            target = self.emphasis.decode(target)
            pixel_weights = 1.0 + self.emphasis.weight * marked.to(logits.dtype)
        valid = target != self.ce.ignore_index
        if not bool(valid.any()):
            ce = logits.sum() * 0.0
        elif pixel_weights is None:
            ce = self.ce(logits, target)
        else:
            ce = self._weighted_ce(logits, target, valid, pixel_weights)
        return ce + self.dice_weight * self.dice(logits, target)

    def _weighted_ce(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        valid: torch.Tensor,
        pixel_weights: torch.Tensor,
    ) -> torch.Tensor:
        # Normalised like nn.CrossEntropyLoss's weighted mean: by the sum of the weights used.
        safe = torch.where(valid, target, 0)
        per_pixel = F.cross_entropy(logits, safe, reduction="none")
        class_w = self.ce.weight[safe] if self.ce.weight is not None else torch.ones_like(per_pixel)
        w = class_w * pixel_weights * valid.to(logits.dtype)
        return (w * per_pixel).sum() / w.sum().clamp(min=1e-12)


def class_weights_from_targets(
    targets: list[torch.Tensor],
    num_classes: int,
    ignore_index: int = 255,
    emphasis: Emphasis | None = None,
) -> torch.Tensor:
    """Inverse square-root frequency weights, normalised to mean 1 (absent classes get 1).
    Pixels coded ``emphasis.code`` count as ``emphasis.as_class``.

    Shape: [(H, W) int64] -> (num_classes,).
    """
    counts = torch.zeros(num_classes, dtype=torch.float64)
    for target in targets:
        if emphasis is not None:
            target = emphasis.decode(target)
        valid = target[target != ignore_index]
        counts += torch.bincount(valid.flatten(), minlength=num_classes)[:num_classes].double()
    freq = counts / counts.sum().clamp(min=1)
    weights = torch.where(counts > 0, freq.clamp(min=1e-6).rsqrt(), torch.ones_like(freq))
    return (weights / weights.mean()).float()
