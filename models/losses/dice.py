"""Soft multi-class Dice loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DiceLoss(nn.Module):
    """1 - mean soft Dice over classes present in the batch (Milletari et al., "V-Net", 2016,
    arXiv:1606.04797), ignoring pixels labelled ``ignore_index``.

    Shape: logits (B, K, H, W), target (B, H, W) int64 -> scalar.
    """

    def __init__(self, ignore_index: int = 255, smooth: float = 1.0) -> None:
        super().__init__()
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0, got {smooth}")
        self.ignore_index, self.smooth = ignore_index, smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        num_classes = logits.shape[1]
        valid = (target != self.ignore_index).unsqueeze(1)  # (B, 1, H, W)
        probs = logits.softmax(dim=1) * valid
        onehot = F.one_hot(target.clamp(0, num_classes - 1), num_classes).permute(0, 3, 1, 2)
        onehot = onehot.to(probs.dtype) * valid  # (B, K, H, W)
        dims = (0, 2, 3)
        intersection = (probs * onehot).sum(dims)
        cardinality = probs.sum(dims) + onehot.sum(dims)
        dice = (2 * intersection + self.smooth) / (cardinality + self.smooth)  # (K,)
        present = onehot.sum(dims) > 0
        if not bool(present.any()):
            return logits.sum() * 0.0
        return 1.0 - dice[present].mean()
