"""Decode uploaded PNG, JPEG and TIFF bytes into one array convention.

The result is always ``(H, W, C)`` with dtype ``uint8``, ``uint16`` or ``float32``:

* ``uint8``, ``uint16`` and ``float32`` are kept as they are.
* ``bool`` becomes ``uint8`` 0/255.
* Other integers (``int8``/``int16``/``int32``/``uint32``/``int64``/``uint64``) become ``uint16``
  when every value lies in 0..65535 (``uint8`` for ``int8`` data in 0..127), which is lossless;
  otherwise ``float32`` (exact up to 2**24).
* ``float16`` and ``float64`` become ``float32``.

Pillow reads PNG and JPEG, tifffile reads TIFF (see backend.imaging.tiff for its axis rule).
16-bit greyscale PNGs are read exactly; 16-bit colour PNGs are refused, since Pillow would keep
only their high byte. Pixel counts are checked from the header before any pixel is decoded, so a
file that claims 100000x100000 pixels costs nothing.
"""

import io
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.imaging.errors import (
    ImageTooLarge,
    InvalidImage,
    UnsupportedImageType,
    UnsupportedLayout,
    check_pixel_count,
)
from backend.imaging.sniff import detect_format
from backend.imaging.tiff import DEFAULT_MAX_CHANNELS, read_tiff

_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
# Modes Pillow turns into RGB for us: palettes, alpha and other colour spaces.
_TO_RGB = {"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}
_TO_GREY = {"1", "L", "LA", "La"}
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded image and what the database records about it.

    ``array`` is read-only, Shape: (H, W, C). ``axes`` is ``"YXS"`` for a colour (RGB) image whose
    three samples are red, green and blue, and ``"YXC"`` for C independent channels (grey when
    C == 1, fluorescence otherwise).
    """

    array: np.ndarray
    width: int
    height: int
    channels: int
    dtype: str
    format: str
    axes: str

    @property
    def is_rgb(self) -> bool:
        return self.axes == "YXS"


def decode_image(
    data: bytes,
    filename: str,
    *,
    max_pixels: int,
    max_channels: int = DEFAULT_MAX_CHANNELS,
) -> DecodedImage:
    """Decode ``data`` (the upload's bytes; ``filename`` is only used in messages).

    Raises InvalidImage, UnsupportedImageType, ImageTooLarge or UnsupportedLayout.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if max_channels < 1:
        raise ValueError(f"max_channels must be >= 1, got {max_channels}")
    fmt = detect_format(data, filename)
    if fmt == "tiff":
        array, rgb = read_tiff(data, filename, max_pixels=max_pixels, max_channels=max_channels)
    else:
        array, rgb = _read_pillow(data, filename, fmt, max_pixels=max_pixels)
    array = normalise_dtype(array, filename)
    height, width, channels = array.shape
    if height == 0 or width == 0:
        raise InvalidImage(f"'{filename}' has no pixels ({width}x{height}).")
    if array.dtype == np.float32 and not np.isfinite(array).any():
        raise InvalidImage(
            f"'{filename}' holds no finite pixel value (all NaN or infinite); "
            "export the image again with real values."
        )
    array.flags.writeable = False
    return DecodedImage(
        array=array,
        width=width,
        height=height,
        channels=channels,
        dtype=str(array.dtype),
        format=fmt,
        axes="YXS" if rgb else "YXC",
    )


def _read_pillow(
    data: bytes, filename: str, fmt: str, *, max_pixels: int
) -> tuple[np.ndarray, bool]:
    """Return (H, W, C) pixels and whether they are RGB colour. Shape: (H, W, C)."""
    name = _PILLOW_FORMATS[fmt]
    if fmt == "png":
        _reject_16bit_colour_png(data, filename)
    try:
        # Lazy: only the header is parsed here. Pillow refuses > 2 * Image.MAX_IMAGE_PIXELS
        # itself; we translate that and apply our own, usually lower, max_pixels below.
        image = Image.open(io.BytesIO(data), formats=[name])
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            f"'{filename}' claims more pixels than can be decoded safely ({exc}); "
            "crop or downscale it before uploading."
        ) from exc
    except _PILLOW_ERRORS as exc:
        raise InvalidImage(
            f"'{filename}' starts like a {name} file but its header is unreadable; "
            "the file is corrupt or truncated. Export it again."
        ) from exc
    with image:
        width, height = image.size
        check_pixel_count(width, height, max_pixels, filename)
        if fmt == "png" and getattr(image, "n_frames", 1) > 1:
            raise UnsupportedLayout(
                f"'{filename}' is an animated PNG with {image.n_frames} frames; time series "
                "are not supported yet. Export a single frame."
            )
        try:
            # A full decode: with ImageFile.LOAD_TRUNCATED_IMAGES left False (Pillow's
            # default), missing data raises instead of being filled with grey.
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"'{filename}' is too large to decode safely ({exc}).") from exc
        except _PILLOW_ERRORS as exc:
            raise InvalidImage(
                f"'{filename}' is a truncated or corrupt {name} file ({exc}); "
                "upload the complete file."
            ) from exc
        return _pillow_to_array(image, filename)


def _reject_16bit_colour_png(data: bytes, filename: str) -> None:
    # IHDR is always the first chunk: bit depth at byte 24, colour type at byte 25. Pillow would
    # silently keep only the high byte of 16-bit colour or grey+alpha samples.
    bit_depth, colour_type = data[24:25], data[25:26]
    if bit_depth == b"\x10" and colour_type in (b"\x02", b"\x04", b"\x06"):
        raise UnsupportedImageType(
            f"'{filename}' is a 16-bit colour (or grey+alpha) PNG, which cannot be read without "
            "losing precision; save it as a 16-bit TIFF, or as 16-bit greyscale PNGs."
        )


def _pillow_to_array(image: Image.Image, filename: str) -> tuple[np.ndarray, bool]:
    mode = image.mode
    if mode in _TO_GREY:
        return np.asarray(image.convert("L"))[..., None], False
    if mode.startswith("I;16") or mode in {"I", "F"}:
        pixels = np.asarray(image)  # I;16B arrives big-endian; make it native
        return pixels.astype(pixels.dtype.newbyteorder("="))[..., None], False
    if mode in _TO_RGB:
        return np.asarray(image.convert("RGB")), True
    raise UnsupportedImageType(
        f"'{filename}' uses the pixel mode {mode!r}, which is not supported; "
        "save it as 8- or 16-bit greyscale or RGB."
    )


def normalise_dtype(array: np.ndarray, filename: str) -> np.ndarray:
    """Apply the module's dtype rule (see the module docstring). Shape is kept."""
    dtype = array.dtype
    if dtype in (np.uint8, np.uint16, np.float32):
        return np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))
    if dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if dtype.kind in "iu":
        lo, hi = (int(array.min()), int(array.max())) if array.size else (0, 0)
        if lo >= 0 and dtype.itemsize == 1:
            return array.astype(np.uint8)
        if lo >= 0 and hi <= 65535:
            return array.astype(np.uint16)
        return array.astype(np.float32)
    if dtype.kind == "f":
        return array.astype(np.float32)
    raise UnsupportedImageType(
        f"'{filename}' has {dtype} pixels, which are not supported; "
        "save it as 8/16-bit integer or 32-bit float."
    )
