"""Rotation prediction: classify which multiple of 90 degrees a crop was rotated by
(Gidaris, Singh, Komodakis, 2018, arXiv:1803.07728). Trains the encoder only; kept as the
classic reference point (microscopy is largely rotation-invariant, so it is expected to be weak)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.pretext.base import Pretext


class RotationPretext(Pretext):
    name = "rotation"
    trains_decoder = False

    def __init__(self, encoder: str, in_channels: int) -> None:
        super().__init__(encoder, in_channels)
        self.classifier = nn.Linear(self.net.encoder.out_channels[-1], 4)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        k = torch.randint(4, (batch.shape[0],), device=batch.device)
        rotated = torch.stack(
            [torch.rot90(x, int(r), dims=(-2, -1)) for x, r in zip(batch, k, strict=True)]
        )  # (B, C, S, S), square crops
        deepest = self.net.encoder(rotated)[-1]  # (B, C_last, S/16, S/16)
        logits = self.classifier(deepest.mean(dim=(-2, -1)))  # (B, 4)
        return F.cross_entropy(logits, k)
