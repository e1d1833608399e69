"""The interface every pretext task implements."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from models.networks import Segmenter, build_segmenter


class Pretext(nn.Module):
    """A self-supervised task around a segmenter-shaped network ``self.net``.

    After pretraining, ``net.encoder`` (and ``net.decoder`` when ``trains_decoder``) initialise
    fine-tuning; ``net.head`` and any extra heads are discarded.
    """

    name: ClassVar[str]
    trains_decoder: ClassVar[bool]

    def __init__(self, encoder: str, in_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        self.net: Segmenter = build_segmenter(encoder, in_channels, out_channels or in_channels)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """The pretext loss for a batch of normalised crops. Shape: (B, C, S, S) -> scalar."""
        raise NotImplementedError
