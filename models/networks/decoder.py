"""U-Net decoder sized from an encoder's ``out_channels``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.networks.blocks import ConvBNReLU


class UpBlock(nn.Module):
    """Project the deeper feature to the skip's width (1x1, at low resolution), upsample x2,
    add the skip, convolve.

    Adding instead of concatenating (LinkNet, Chaurasia & Culurciello, 2017, arXiv:1707.03718)
    avoids copying full-resolution tensors, which dominates CPU inference time for thin layers.
    Shape: (B, C_deep, h, w), (B, C_skip, 2h, 2w) -> (B, C_skip, 2h, 2w).
    """

    def __init__(self, deep_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(deep_channels, skip_channels, 1)
        self.conv = ConvBNReLU(skip_channels, skip_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.project(x), size=skip.shape[-2:], mode="nearest")
        return self.conv(x + skip)


class UNetDecoder(nn.Module):
    """U-Net decoder (Ronneberger et al., "U-Net", 2015, arXiv:1505.04597) with additive skips.

    Each block's width equals its skip's width, so the decoder follows the encoder's shape.
    Shape: features [(B, C_i, H / 2**i, W / 2**i)] -> (B, encoder_channels[0], H, W).
    """

    def __init__(self, encoder_channels: tuple[int, ...]) -> None:
        super().__init__()
        if len(encoder_channels) < 2:
            raise ValueError(f"need at least two encoder stages, got {encoder_channels}")
        blocks = []
        deeper = encoder_channels[-1]
        for skip in reversed(encoder_channels[:-1]):
            blocks.append(UpBlock(deeper, skip))
            deeper = skip
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = encoder_channels[0]

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        x = features[-1]
        for block, skip in zip(self.blocks, reversed(features[:-1]), strict=True):
            x = block(x, skip)  # (B, C_skip, h_skip, w_skip)
        return x
