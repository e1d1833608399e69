"""Data pipeline: normalisation, channel adaptation, crops, augmentation, tiling."""

from models.data.augment import IGNORE_INDEX, augment_pair, build_augmentation
from models.data.crops import CropSampler
from models.data.normalize import (
    POLARITIES,
    accepts_channels,
    adapt_channels,
    channels_fit_together,
    has_bright_background,
    infer_in_channels,
    is_grayscale,
    normalize_polarity,
    percentile_normalize,
    polarity_of,
    prepare_image,
)
from models.data.tiling import blend_window, predict_tiled, tile_starts

__all__ = [
    "IGNORE_INDEX",
    "POLARITIES",
    "CropSampler",
    "accepts_channels",
    "adapt_channels",
    "channels_fit_together",
    "augment_pair",
    "blend_window",
    "build_augmentation",
    "has_bright_background",
    "infer_in_channels",
    "is_grayscale",
    "normalize_polarity",
    "percentile_normalize",
    "polarity_of",
    "predict_tiled",
    "prepare_image",
    "tile_starts",
]
