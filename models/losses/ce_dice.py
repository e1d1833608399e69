"""Class-weighted cross-entropy plus Dice, the usual loss for few-label segmentation."""

from __future__ import annotations

import torch
from torch import nn

from models.losses.dice import DiceLoss


class CEDiceLoss(nn.Module):
    """``CE(weights) + dice_weight * Dice``; both ignore ``ignore_index``.

    Shape: logits (B, K, H, W), target (B, H, W) int64 -> scalar.
    """

    def __init__(
        self,
        class_weights: torch.Tensor | None = None,
        dice_weight: float = 1.0,
        ignore_index: int = 255,
    ) -> None:
        super().__init__()
        if dice_weight < 0:
            raise ValueError(f"dice_weight must be >= 0, got {dice_weight}")
        self.ce = nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore_index)
        self.dice = DiceLoss(ignore_index=ignore_index)
        self.dice_weight = dice_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if bool((target != self.ce.ignore_index).any()):
            ce = self.ce(logits, target)
        else:
            ce = logits.sum() * 0.0
        return ce + self.dice_weight * self.dice(logits, target)


def class_weights_from_targets(
    targets: list[torch.Tensor], num_classes: int, ignore_index: int = 255
) -> torch.Tensor:
    """Inverse square-root frequency weights, normalised to mean 1 (absent classes get 1).

    Shape: [(H, W) int64] -> (num_classes,).
    """
    counts = torch.zeros(num_classes, dtype=torch.float64)
    for target in targets:
        valid = target[target != ignore_index]
        counts += torch.bincount(valid.flatten(), minlength=num_classes)[:num_classes].double()
    freq = counts / counts.sum().clamp(min=1)
    weights = torch.where(counts > 0, freq.clamp(min=1e-6).rsqrt(), torch.ones_like(freq))
    return (weights / weights.mean()).float()
