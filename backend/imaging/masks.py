"""Decode, validate and encode annotation masks (label images).

A mask is a single-channel label image of its image's size: ``semantic`` pixels hold a class index
(0 = background, ``num_classes`` counts the background), ``instance`` pixels hold an object id
(0 = background, up to 65535). Masks are returned as (H, W) ``uint8`` when every value is <= 255,
else ``uint16``, and :func:`encode_mask` writes the same dtype to PNG, bit-exact.
"""

import io
import zlib
from typing import Literal

import numpy as np
import tifffile
from PIL import Image

from backend.imaging.errors import ImagingError, InvalidMask
from backend.imaging.sniff import detect_format

MaskKind = Literal["semantic", "instance"]
MAX_LABEL = 65535
_GREY_MODES = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N"}
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)
_HOW_TO_SAVE = (
    "save the mask as a single-channel label image (8- or 16-bit greyscale or palette PNG, or a "
    "TIFF) where each pixel holds the class index or object id, 0 for background"
)
_SHOWN_VALUES = 10


def decode_mask(
    data: bytes,
    *,
    width: int,
    height: int,
    kind: MaskKind,
    num_classes: int,
    filename: str | None = None,
) -> np.ndarray:
    """Decode and validate a mask for a ``width`` x ``height`` image. Shape: (H, W).

    ``filename`` only names the upload in messages. Raises InvalidMask with a message naming
    the problem; ValueError for bad arguments.
    """
    if kind not in ("semantic", "instance"):
        raise ValueError(f"kind must be 'semantic' or 'instance', got {kind!r}")
    if kind == "semantic" and not 1 <= num_classes <= MAX_LABEL + 1:
        raise ValueError(f"num_classes must be in 1..{MAX_LABEL + 1}, got {num_classes}")
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1, got {width}x{height}")
    label = "mask" if filename is None else f"mask '{filename}'"
    try:
        fmt = detect_format(data, filename or "mask", what="mask", formats="PNG or TIFF")
    except ImagingError as exc:
        raise InvalidMask(str(exc)) from exc
    if fmt == "jpeg":
        raise InvalidMask(
            f"{label} is a JPEG, whose lossy compression changes label values; {_HOW_TO_SAVE}."
        )
    read = _read_png if fmt == "png" else _read_tiff
    raw = read(data, label, width=width, height=height)
    labels = _to_labels(raw, label)
    if kind == "semantic":
        _check_classes(labels, num_classes, label)
    return labels


def encode_mask(labels: np.ndarray) -> bytes:
    """PNG of a label image: 8-bit when max <= 255, else 16-bit. Shape: (H, W) or (H, W, 1)."""
    labels = _as_2d(labels)
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) > MAX_LABEL):
        raise ValueError(f"labels must lie in 0..{MAX_LABEL}")
    dtype = np.uint8 if not labels.size or int(labels.max()) <= 255 else np.uint16
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(labels, dtype=dtype)).save(buffer, format="PNG")
    return buffer.getvalue()


def mask_objects(labels: np.ndarray) -> list[int]:
    """Sorted ids present in ``labels``, background 0 excluded."""
    values = np.asarray(labels).ravel()
    if values.dtype in (np.uint8, np.uint16, np.bool_):
        return [int(v) for v in np.flatnonzero(np.bincount(values)) if v != 0]
    return [int(v) for v in np.unique(values) if v != 0]


def _read_png(data: bytes, label: str, *, width: int, height: int) -> np.ndarray:
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    except Image.DecompressionBombError as exc:
        raise InvalidMask(f"{label} claims far more pixels than the image has.") from exc
    except _PILLOW_ERRORS as exc:
        raise InvalidMask(f"{label} is a corrupt PNG file; export the mask again.") from exc
    with image:
        _check_size(image.size[0], image.size[1], width, height, label)
        if image.mode not in _GREY_MODES:
            colour = "an RGB colour" if image.mode.startswith("RGB") else f"a mode {image.mode}"
            raise InvalidMask(f"{label} is {colour} image; {_HOW_TO_SAVE}.")
        try:
            image.load()
        except _PILLOW_ERRORS as exc:
            raise InvalidMask(
                f"{label} is a truncated or corrupt PNG file ({exc}); upload the whole file."
            ) from exc
        # Mode P gives palette indices, mode 1 gives booleans: both are labels as they are.
        return np.asarray(image)


def _read_tiff(data: bytes, label: str, *, width: int, height: int) -> np.ndarray:
    # tifffile parses untrusted bytes: any exception means the file is unusable.
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = tif.series[0]
            kept = [(a, n) for a, n in zip(series.axes, series.shape, strict=True) if n > 1]
            extra = [f"{a}={n}" for a, n in kept if a not in "YX"]
            shape = dict(zip(series.axes, series.shape, strict=True))
            if "Y" not in shape or "X" not in shape:
                raise InvalidMask(f"{label} has no Y/X plane (axes {series.axes!r}).")
            _check_size(shape["X"], shape["Y"], width, height, label)
            if extra:
                raise InvalidMask(
                    f"{label} has more than one plane ({', '.join(extra)}); {_HOW_TO_SAVE}."
                )
            array = series.asarray()
    except InvalidMask:
        raise
    except Exception as exc:
        raise InvalidMask(
            f"{label} is a truncated or corrupt TIFF file ({exc}); export the mask again."
        ) from exc
    if array.size != width * height:
        raise InvalidMask(f"{label} is a corrupt TIFF file; export the mask again.")
    return array.reshape(height, width)


def _check_size(mask_w: int, mask_h: int, width: int, height: int, label: str) -> None:
    if (mask_w, mask_h) != (width, height):
        raise InvalidMask(
            f"{label} is {mask_w}x{mask_h} but the image is {width}x{height}; "
            "a mask must have exactly the size of its image."
        )


def _to_labels(array: np.ndarray, label: str) -> np.ndarray:
    """Check dtype and range and return uint8 (max <= 255) or uint16. Shape: (H, W)."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InvalidMask(f"{label} contains NaN or infinite values; {_HOW_TO_SAVE}.")
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise InvalidMask(
                f"{label} has non-integer values (e.g. {float(fractional[0]):g}); {_HOW_TO_SAVE}."
            )
    elif array.dtype.kind not in "iu":
        raise InvalidMask(f"{label} has {array.dtype} pixels; {_HOW_TO_SAVE}.")
    low, high = (array.min(), array.max()) if array.size else (0, 0)
    if low < 0:
        raise InvalidMask(
            f"{label} contains negative values (lowest {low:g}); labels must be "
            f"0..{MAX_LABEL}, 0 for background."
        )
    if high > MAX_LABEL:
        raise InvalidMask(
            f"{label} contains values above 16 bits (highest {high:g}); labels must be "
            f"0..{MAX_LABEL}. Renumber the objects."
        )
    return array.astype(np.uint8 if high <= 255 else np.uint16)


def _check_classes(labels: np.ndarray, num_classes: int, label: str) -> None:
    if not labels.size or int(labels.max()) < num_classes:
        return
    bad = np.unique(labels[labels >= num_classes])
    shown = ", ".join(str(int(v)) for v in bad[:_SHOWN_VALUES])
    more = f" and {bad.size - _SHOWN_VALUES} more" if bad.size > _SHOWN_VALUES else ""
    raise InvalidMask(
        f"{label} contains class value(s) {shown}{more}, but the collection has "
        f"{num_classes} classes including background, so values must be 0..{num_classes - 1}."
    )


def _as_2d(labels: np.ndarray) -> np.ndarray:
    if labels.ndim == 3 and labels.shape[2] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2:
        raise ValueError(f"labels must have shape (H, W), got {labels.shape}")
    return labels
