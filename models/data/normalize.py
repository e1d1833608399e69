"""Per-image percentile normalisation, polarity normalisation and channel adaptation."""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_PERCENTILES = (1.0, 99.8)
POLARITIES = ("auto", "none")
# Median normalised intensity above which an image counts as bright-background (brightfield,
# stained tissue, EM). Chosen on the dsb2018 pool split: images whose nuclei are darker than
# their background have medians 0.40-1.0, images with bright nuclei 0.0-0.19.
BRIGHT_BACKGROUND_MEDIAN = 0.3


def percentile_normalize(
    image: np.ndarray, low: float = DEFAULT_PERCENTILES[0], high: float = DEFAULT_PERCENTILES[1]
) -> np.ndarray:
    """Map each channel's ``low``/``high`` percentiles to 0/1, as float32.

    Works the same for 8-bit, 16-bit and float images, since only ranks matter (the CSBDeep
    normalisation: Weigert et al., "Content-aware image restoration", 2018,
    doi:10.1038/s41592-018-0216-7).
    Values are not clipped, so bright objects keep their contrast. A flat channel becomes 0.
    Shape: (C, H, W) -> (C, H, W).
    """
    if not 0 <= low < high <= 100:
        raise ValueError(f"need 0 <= low < high <= 100, got low={low}, high={high}")
    if image.ndim != 3:
        raise ValueError(f"expected (C, H, W), got {image.shape}")
    data = image.astype(np.float32, copy=False)
    flat = data.reshape(data.shape[0], -1)
    lo, hi = np.percentile(flat, [low, high], axis=1)  # (C,), (C,)
    scale = np.where(hi - lo > 1e-12, hi - lo, np.inf).astype(np.float32)
    out = (data - lo[:, None, None].astype(np.float32)) / scale[:, None, None]
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def has_bright_background(image: np.ndarray) -> bool:
    """True when a percentile-normalised image's background is bright.

    The background is most of a microscopy image, so the median of the channel mean tells dark
    (fluorescence) from bright (brightfield, H&E, EM) backgrounds. Every other row and column
    is enough for a median and halves its cost on large images. Shape: (C, H, W).
    """
    return float(np.median(image[:, ::2, ::2].mean(axis=0))) > BRIGHT_BACKGROUND_MEDIAN


def normalize_polarity(image: np.ndarray, polarity: str = "auto") -> np.ndarray:
    """With ``polarity="auto"`` invert (``1 - x``) a normalised bright-background image, so
    objects are bright on dark whatever the modality; ``"none"`` returns the image unchanged.
    Shape: (C, H, W) -> (C, H, W).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if polarity == "auto" and has_bright_background(image):
        return (1.0 - image).astype(np.float32)
    return image


def polarity_of(config: dict[str, Any]) -> str:
    """The polarity rule a checkpoint config was trained with; ``"none"`` for checkpoints
    written before the rule existed (their ``normalisation`` has no ``polarity`` key)."""
    return str((config.get("normalisation") or {}).get("polarity", "none"))


def is_grayscale(image: np.ndarray) -> bool:
    """True for (H, W) images and for RGB(A) images whose three colour channels are equal."""
    if image.ndim == 2:
        return True
    channels = image.shape[-1]
    if channels == 1:
        return True
    if channels in (3, 4):
        rgb = image[..., :3]
        return bool((rgb == rgb[..., :1]).all())
    return False


def infer_in_channels(images: list[np.ndarray]) -> int:
    """The channel count a model for these images should take.

    1 when every image is grayscale (including RGB(A) with equal channels), 3 when any is colour
    RGB(A), otherwise the (common) channel count of multi-channel images.
    """
    if not images:
        raise ValueError("need at least one image to infer in_channels")
    if all(is_grayscale(image) for image in images):
        return 1
    counts = {1 if image.ndim == 2 else image.shape[-1] for image in images}
    counts = {3 if c == 4 else c for c in counts} - {1}
    if len(counts) != 1:
        raise ValueError(f"images have incompatible channel counts {sorted(counts)}")
    return counts.pop()


def adapt_channels(image: np.ndarray, in_channels: int) -> np.ndarray:
    """Convert an (H, W) or (H, W, C) image to (in_channels, H, W).

    Rules, in order: a 4-channel image fed to a model with 1 or 3 channels is RGBA and loses its
    alpha; equal counts pass through; 1 -> 3 repeats the gray channel; 3 -> 1 takes the channel
    mean; anything else raises ``ValueError`` (a model for N-channel fluorescence needs N channels).
    """
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"expected an image (H, W) or (H, W, C), got shape {image.shape}")
    if image.shape[-1] == 4 and in_channels in (1, 3):
        image = image[..., :3]
    channels = image.shape[-1]
    chw = np.moveaxis(image, -1, 0)
    if channels == in_channels:
        return chw
    if channels == 1:
        return (
            np.repeat(chw, in_channels, axis=0) if in_channels == 3 else _mismatch(chw, in_channels)
        )
    if channels == 3 and in_channels == 1:
        return chw.astype(np.float32).mean(axis=0, keepdims=True)
    return _mismatch(chw, in_channels)


def accepts_channels(in_channels: int, channels: int) -> bool:
    """Whether ``adapt_channels`` feeds an image of ``channels`` to a model of ``in_channels``."""
    if channels == 4 and in_channels in (1, 3):
        channels = 3  # RGBA loses its alpha
    return channels == in_channels or {channels, in_channels} == {1, 3}


def channels_fit_together(counts: set[int]) -> bool:
    """Whether one network can take images of all these channel counts: grey and RGB mix
    (3 channels, grey repeated); N-channel images need N everywhere."""
    return not counts or all(accepts_channels(max(counts), c) for c in counts)


def _mismatch(chw: np.ndarray, in_channels: int) -> np.ndarray:
    raise ValueError(f"image has {chw.shape[0]} channels, the model takes {in_channels}")


def prepare_image(image: np.ndarray, in_channels: int, polarity: str = "none") -> np.ndarray:
    """Adapt channels, normalise percentiles, then polarity (see ``normalize_polarity``).

    Shape: (H, W[, C]) -> (in_channels, H, W) float32.
    """
    image = np.asarray(image)
    if image.dtype == np.bool_ or not (
        np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)
    ):
        raise ValueError(f"image dtype {image.dtype} is not numeric")
    return normalize_polarity(percentile_normalize(adapt_channels(image, in_channels)), polarity)
