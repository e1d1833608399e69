"""Sliding-window prediction with overlap blending, for images of any size."""

from __future__ import annotations

from collections.abc import Callable

import torch


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, size)`` with tiles of ``tile`` overlapping by >= ``overlap``."""
    if size <= tile:
        return [0]
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap})")
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    return [*starts, size - tile]


def blend_window(tile_h: int, tile_w: int, overlap: int) -> torch.Tensor:
    """Weights that fall linearly to a small value over ``overlap`` pixels at each tile edge.

    Shape: (tile_h, tile_w).
    """

    def ramp(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=torch.float32)
        edge = torch.minimum(i + 0.5, n - i - 0.5)
        return (edge / max(overlap, 1)).clamp(1e-3, 1.0)

    return ramp(tile_h)[:, None] * ramp(tile_w)[None, :]


def predict_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    out_channels: int,
    tile: int = 1024,
    overlap: int = 64,
) -> torch.Tensor:
    """Run ``fn`` on overlapping tiles and blend the outputs with ``blend_window`` weights.

    ``fn`` maps (1, C, h, w) to (1, K, h, w) for any h, w <= tile (e.g. softmax probabilities).
    An image no larger than ``tile`` is one call. Shape: (C, H, W) -> (K, H, W).
    """
    _, h, w = image.shape
    if h <= tile and w <= tile:
        return fn(image[None])[0]
    out = torch.zeros(out_channels, h, w, dtype=torch.float32, device=image.device)
    norm = torch.zeros(1, h, w, dtype=torch.float32, device=image.device)
    tile_h, tile_w = min(tile, h), min(tile, w)
    window = blend_window(tile_h, tile_w, overlap).to(image.device)  # (th, tw)
    for y in tile_starts(h, tile_h, overlap):
        for x in tile_starts(w, tile_w, overlap):
            patch = image[None, :, y : y + tile_h, x : x + tile_w]
            out[:, y : y + tile_h, x : x + tile_w] += fn(patch)[0].float() * window
            norm[:, y : y + tile_h, x : x + tile_w] += window
    return out / norm
