"""Mean squared error restricted to a pixel mask (for masked-image reconstruction)."""

from __future__ import annotations

import torch
from torch import nn


class MaskedMSELoss(nn.Module):
    """MSE over pixels where ``mask`` is 1, plus ``visible_weight`` times MSE elsewhere.

    Shape: prediction (B, C, H, W), target (B, C, H, W), mask (B, 1, H, W) in {0, 1} -> scalar.
    """

    def __init__(self, visible_weight: float = 0.0) -> None:
        super().__init__()
        if visible_weight < 0:
            raise ValueError(f"visible_weight must be >= 0, got {visible_weight}")
        self.visible_weight = visible_weight

    def forward(
        self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        error = (prediction - target).pow(2).mean(dim=1, keepdim=True)  # (B, 1, H, W)
        masked = (error * mask).sum() / mask.sum().clamp(min=1)
        if self.visible_weight == 0:
            return masked
        visible = (error * (1 - mask)).sum() / (1 - mask).sum().clamp(min=1)
        return masked + self.visible_weight * visible
