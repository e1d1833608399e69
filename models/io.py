"""Reading and writing images and label images (PNG/JPEG via Pillow, TIFF via tifffile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_TIFF = (".tif", ".tiff")
MAX_CHANNELS = 8  # as the service accepts


def read_image(path: str | Path) -> np.ndarray:
    """Read an image in its native dtype. Shape: (H, W) or (H, W, C).

    TIFF stacks stored channels-first with few channels (C, H, W), C <= 8, are moved to (H, W, C);
    more planes than that are a z-stack or time series, refused with a ``ValueError``.
    """
    path = Path(path)
    if path.suffix.lower() in _TIFF:
        array = np.asarray(tifffile.imread(path))
        if array.ndim == 3 and array.shape[0] <= 8 < min(array.shape[1:]):
            array = np.moveaxis(array, 0, -1)
    else:
        with Image.open(path) as image:
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"{path}: expected a 2-D image (H, W) or (H, W, C), got {array.shape}")
    if array.ndim == 3 and array.shape[-1] > MAX_CHANNELS:
        # (20, 48, 48) is a stack of 20 planes, not a 20x48 image with 48 channels.
        raise ValueError(
            f"{path}: shape {array.shape} looks like a z-stack or time series, which is not "
            f"supported (at most {MAX_CHANNELS} channels); save one plane per file"
        )
    return array


def read_label(path: str | Path) -> np.ndarray:
    """Read an integer label image. Shape: (H, W); dtype kept (uint8/uint16/int32...)."""
    path = Path(path)
    if path.suffix.lower() in _TIFF:
        array = np.asarray(tifffile.imread(path))
    else:
        with Image.open(path) as image:
            array = np.asarray(image if image.mode != "P" else image.convert("L"))
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        if not (array[..., :3] == array[..., :1]).all():
            raise ValueError(f"{path}: label image is colour, expected one integer channel")
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{path}: label image must be (H, W), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) and not np.issubdtype(array.dtype, np.bool_):
        raise ValueError(f"{path}: label image must hold integers, got dtype {array.dtype}")
    return array.astype(np.int32) if array.dtype == np.bool_ else array


def write_label(path: str | Path, labels: np.ndarray) -> None:
    """Write a label image as PNG: uint8 when max <= 255, else uint16 (bit-exact round trip)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    low, high = (int(labels.min()), int(labels.max())) if labels.size else (0, 0)
    if low < 0 or high > 65535:
        raise ValueError(f"labels must lie in 0..65535 for PNG, got {low}..{high}")
    dtype = np.uint8 if high <= 255 else np.uint16
    path = Path(path)
    # Through a temporary file and a rename, so an interrupted run leaves whole files only.
    partial = path.with_name(f".{path.name}.partial")
    try:
        Image.fromarray(labels.astype(dtype)).save(partial, format="PNG")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def list_images(directory: str | Path) -> dict[str, Path]:
    """Image files in ``directory`` keyed by stem, sorted by stem.

    Raises ``FileNotFoundError`` for a missing directory and ``ValueError`` when two files share
    a stem (``a.png`` and ``a.tif``), since they could not be matched to masks unambiguously.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"not a directory: {directory}")
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise ValueError(f"two images share the stem {path.stem!r} in {directory}")
            found[path.stem] = path
    return dict(sorted(found.items()))
