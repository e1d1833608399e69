"""Prediction heads: a 1x1 convolution from decoder features to per-pixel outputs."""

from __future__ import annotations

from torch import nn


class SegmentationHead(nn.Conv2d):
    """Shape: (B, in_channels, H, W) -> (B, out_channels, H, W)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        if out_channels < 1:
            raise ValueError(f"out_channels must be >= 1, got {out_channels}")
        super().__init__(in_channels, out_channels, kernel_size=1)
