"""Masked-image reconstruction (inpainting of hidden patches).

Context Encoders (Pathak et al., 2016, arXiv:1604.07379) and MAE (He et al., 2021,
arXiv:2111.06377) adapted to a dense conv net: random square patches are zeroed and the whole
encoder-decoder learns to restore them; the loss counts the hidden pixels (plus a little of the
visible ones, so the decoder also learns to pass detail through, which is what segmentation reuses).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.losses import MaskedMSELoss
from models.pretext.base import Pretext


def random_patch_mask(
    batch: int, height: int, width: int, patch: int, ratio: float, device: torch.device
) -> torch.Tensor:
    """1 where hidden. Shape: -> (B, 1, H, W) float32, about ``ratio`` of patches set."""
    grid = torch.rand(batch, 1, -(-height // patch), -(-width // patch), device=device) < ratio
    mask = F.interpolate(grid.float(), scale_factor=patch, mode="nearest")
    return mask[..., :height, :width]


class MaskedPretext(Pretext):
    name = "masked"
    trains_decoder = True

    def __init__(
        self,
        encoder: str,
        in_channels: int,
        patch: int = 8,
        ratio: float = 0.5,
        visible_weight: float = 0.1,
    ) -> None:
        super().__init__(encoder, in_channels)
        if patch < 1:
            raise ValueError(f"patch must be >= 1, got {patch}")
        if not 0 < ratio < 1:
            raise ValueError(f"ratio must be in (0, 1), got {ratio}")
        self.patch, self.ratio = patch, ratio
        self.loss_fn = MaskedMSELoss(visible_weight=visible_weight)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        b, _, h, w = batch.shape
        mask = random_patch_mask(b, h, w, self.patch, self.ratio, batch.device)  # (B, 1, H, W)
        restored = self.net(batch * (1 - mask))  # (B, C, H, W)
        return self.loss_fn(restored, batch, mask)
