"""The segmenter: encoder -> decoder -> head (the shape of segmentation_models.pytorch's
``base/model.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.networks.decoder import UNetDecoder
from models.networks.encoders import Encoder, build_encoder
from models.networks.heads import SegmentationHead


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x`` so H and W are multiples of ``multiple``.

    Reflection where the image is large enough, edge replication otherwise.
    Shape: (B, C, H, W) -> (B, C, H', W'); returns the original (H, W) to crop back.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class Segmenter(nn.Module):
    """U-Net style network with a separate encoder, decoder and head.

    Any input size works: the input is padded to the encoder's output stride and the output
    cropped back. Shape: (B, in_channels, H, W) -> (B, out_channels, H, W) logits.
    """

    def __init__(self, encoder: Encoder, out_channels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = UNetDecoder(encoder.out_channels)
        self.head = SegmentationHead(self.decoder.out_channels, out_channels)

    @property
    def in_channels(self) -> int:
        return self.encoder.in_channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder features before the head. Shape: (B, C_in, H, W) -> (B, C_dec, H, W)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        padded, (h, w) = pad_to_multiple(x, self.encoder.output_stride)
        out = self.decoder(*self.encoder(padded))  # (B, C_dec, H', W')
        return out[..., :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_segmenter(encoder: str, in_channels: int, out_channels: int) -> Segmenter:
    """A fresh segmenter with the named encoder from the registry."""
    return Segmenter(build_encoder(encoder, in_channels), out_channels)
