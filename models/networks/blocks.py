"""Small convolutional building blocks shared by encoders and decoders."""

from __future__ import annotations

from torch import nn


class ConvBNReLU(nn.Sequential):
    """3x3 convolution, batch normalisation, ReLU.

    Shape: (B, in_channels, H, W) -> (B, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
