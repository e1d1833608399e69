"""Denoising: restore a crop from a copy with added Gaussian noise (denoising autoencoders,
Vincent et al., ICML 2008; for microscopy cf. Noise2Void, Krull et al., 2018, arXiv:1811.10980)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.pretext.base import Pretext


class DenoisePretext(Pretext):
    name = "denoise"
    trains_decoder = True

    def __init__(self, encoder: str, in_channels: int, max_sigma: float = 0.4) -> None:
        super().__init__(encoder, in_channels)
        if max_sigma <= 0:
            raise ValueError(f"max_sigma must be > 0, got {max_sigma}")
        self.max_sigma = max_sigma

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        sigma = torch.rand(batch.shape[0], 1, 1, 1, device=batch.device) * self.max_sigma
        noisy = batch + sigma * torch.randn_like(batch)  # (B, C, H, W)
        return F.mse_loss(self.net(noisy), batch)
