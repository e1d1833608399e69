"""Encoders and their registry.

An encoder maps an image to a pyramid of feature maps, finest first (segmentation_models.pytorch
convention): ``features[i]`` has stride ``2**i`` and ``out_channels[i]`` channels.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn
from torchvision.models import resnet18, resnet34

from models.networks.blocks import ConvBNReLU


class Encoder(nn.Module):
    """Base class: ``forward(x)`` returns ``len(out_channels)`` feature maps, finest first.

    Shape: (B, in_channels, H, W) -> [(B, out_channels[i], H / 2**i, W / 2**i) for each i],
    with H and W multiples of ``output_stride``.
    """

    out_channels: tuple[int, ...]
    in_channels: int

    @property
    def output_stride(self) -> int:
        return 2 ** (len(self.out_channels) - 1)


class SmallEncoder(Encoder):
    """A light U-Net encoder (Ronneberger et al., "U-Net", 2015, arXiv:1505.04597) for CPUs.

    The full-resolution stage is a single thin convolution and every later stage is a strided
    convolution followed by one more, so that a 1024x1024 image costs a few GFLOPs.
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...] = (8, 16, 32, 64, 128)) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        self.in_channels = in_channels
        self.out_channels = tuple(widths)
        stages: list[nn.Module] = [ConvBNReLU(in_channels, widths[0])]
        for prev, width in itertools.pairwise(widths):
            stages.append(
                nn.Sequential(ConvBNReLU(prev, width, stride=2), ConvBNReLU(width, width))
            )
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)  # (B, C_i, H / 2**i, W / 2**i)
            features.append(x)
        return features


class ResNetEncoder(Encoder):
    """A torchvision ResNet (He et al., "Deep Residual Learning", 2015, arXiv:1512.03385),
    randomly initialised (no downloaded weights), with a first convolution for ``in_channels``.

    The stride-1 feature is a thin convolution on the input so the decoder can recover fine detail.
    """

    def __init__(self, in_channels: int, depth: int = 18) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if depth not in (18, 34):
            raise ValueError(f"ResNet depth must be 18 or 34, got {depth}")
        net = (resnet18 if depth == 18 else resnet34)(weights=None)
        net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.in_channels = in_channels
        self.out_channels = (16, 64, 64, 128, 256, 512)
        self.stem0 = ConvBNReLU(in_channels, 16)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.pool = net.maxpool
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.stem0(x)]  # (B, 16, H, W)
        x = self.stem(x)  # (B, 64, H/2, W/2)
        features.append(x)
        x = self.pool(x)
        for layer in self.layers:
            x = layer(x)  # strides 4, 8, 16, 32
            features.append(x)
        return features


ENCODERS: dict[str, Callable[[int], Encoder]] = {
    "small": SmallEncoder,
    "resnet18": lambda c: ResNetEncoder(c, depth=18),
    "resnet34": lambda c: ResNetEncoder(c, depth=34),
}


def build_encoder(name: str, in_channels: int) -> Encoder:
    """Return a fresh encoder from the registry."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name](in_channels)
