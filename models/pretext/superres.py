"""Super-resolution: restore a crop from a 4x downsampled, bilinearly upsampled copy
(cf. SRCNN, Dong et al., 2014, arXiv:1501.00092, used here as a pretext)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.pretext.base import Pretext


class SuperResPretext(Pretext):
    name = "superres"
    trains_decoder = True

    def __init__(self, encoder: str, in_channels: int, factor: int = 4) -> None:
        super().__init__(encoder, in_channels)
        if factor < 2:
            raise ValueError(f"factor must be >= 2, got {factor}")
        self.factor = factor

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        low = F.avg_pool2d(batch, self.factor, ceil_mode=True)  # (B, C, H/f, W/f)
        blurry = F.interpolate(low, size=batch.shape[-2:], mode="bilinear", align_corners=False)
        return F.mse_loss(self.net(blurry), batch)
