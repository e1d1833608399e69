"""Read TIFF files with tifffile and turn their axes into (H, W, C).

Axis rule, applied to the first series after dropping axes of length 1:

* ``Y`` and ``X`` are the image plane.
* ``C`` (channels) and ``S`` (samples) are channels; with photometric RGB and 3 or 4 samples the
  image is colour (RGB) and a 4th (alpha) sample is dropped.
* ``Z`` or ``T`` (or ImageJ ``slices``/``frames`` > 1) is a z-stack or a time series:
  UnsupportedLayout.
* ``I`` or ``Q`` (a leading axis without metadata, e.g. pages written without ImageJ/OME axes):
  channels when it has at most 8 planes, since a handful of bare planes is almost always a
  channel stack; more planes are probably a stack or series, so UnsupportedLayout.
* A palette (indexed) TIFF is read as its indices, one grey channel.
* Any other axis longer than 1 (``E``, ``H``, ...): UnsupportedLayout.
* More than ``max_channels`` channels in all: UnsupportedLayout.
"""

import io
from typing import NamedTuple

import numpy as np
import tifffile

from backend.imaging.errors import (
    InvalidImage,
    UnsupportedImageType,
    UnsupportedLayout,
    check_pixel_count,
)

DEFAULT_MAX_CHANNELS = 8
MAX_BARE_PLANES = 8
_PHOTOMETRIC_RGB = 2
_EXPORT_HINT = (
    "export a single plane (or a single z-projection) as a 2D TIFF, with its channels if any"
)


def read_tiff(
    data: bytes, filename: str, *, max_pixels: int, max_channels: int
) -> tuple[np.ndarray, bool]:
    """Return pixels in tifffile's dtype and whether they are RGB colour. Shape: (H, W, C)."""
    # tifffile parses untrusted bytes; whatever it raises means the file is unusable, so every
    # exception becomes InvalidImage with the parser's words attached.
    try:
        tif = tifffile.TiffFile(io.BytesIO(data))
    except Exception as exc:
        raise _corrupt(filename, exc) from exc
    with tif:
        series = _first_series(tif, filename)
        axes, shape = series.axes, tuple(series.shape)
        _reject_imagej_stacks(tif, filename)
        layout = _interpret_axes(axes, shape, filename)
        height, width = shape[layout.y], shape[layout.x]
        check_pixel_count(width, height, max_pixels, filename)
        rgb = (
            series.keyframe.photometric == _PHOTOMETRIC_RGB
            and layout.channel_axes == ("S",)
            and shape[axes.index("S")] in (3, 4)
        )
        channels = 3 if rgb else int(np.prod([shape[i] for i in layout.channels]))
        if channels > max_channels:
            raise UnsupportedLayout(
                f"'{filename}' has {channels} channels; at most {max_channels} are supported. "
                "Export fewer channels."
            )
        array = _read_pixels(series, filename)
    if 0 in shape or array.size != np.prod(shape):
        raise _corrupt(filename, ValueError(f"{array.size} pixel values for shape {shape}"))
    # Every axis other than Y and X is a channel axis or has length 1, so after moving Y and X
    # to the front the rest flattens into C in file order.
    rest = [i for i in range(len(shape)) if i not in (layout.y, layout.x)]
    array = array.reshape(shape).transpose((layout.y, layout.x, *rest))
    array = array.reshape(height, width, -1)
    return (array[..., :3] if rgb else array), rgb


def _first_series(tif: tifffile.TiffFile, filename: str) -> tifffile.TiffPageSeries:
    try:
        series = tif.series[0] if tif.series else None
        keyframe = series.keyframe if series is not None else None
    except Exception as exc:
        raise _corrupt(filename, exc) from exc
    if series is None or keyframe is None:
        raise InvalidImage(
            f"'{filename}' is a TIFF file without any readable image; it is corrupt "
            "or truncated. Export it again."
        )
    if np.dtype(series.dtype).kind == "c":
        raise UnsupportedImageType(
            f"'{filename}' holds complex-valued pixels, which are not supported; "
            "export magnitudes as 32-bit float."
        )
    return series


class _Layout(NamedTuple):
    y: int
    x: int
    channels: tuple[int, ...]  # indices of the axes that become C, in file order
    channel_axes: tuple[str, ...]


def _interpret_axes(axes: str, shape: tuple[int, ...], filename: str) -> _Layout:
    if axes.count("Y") != 1 or axes.count("X") != 1 or len(set(axes)) != len(axes):
        raise UnsupportedLayout(
            f"'{filename}' has axes {axes!r} without a Y/X image plane; {_EXPORT_HINT}."
        )
    channels: list[int] = []
    for index, (axis, length) in enumerate(zip(axes, shape, strict=True)):
        if axis in "YX" or length == 1:
            continue
        if axis in "CS":
            channels.append(index)
        elif axis in "ZT":
            what = "a z-stack" if axis == "Z" else "a time series"
            raise UnsupportedLayout(
                f"'{filename}' is {what} ({length} planes along {axis}); z-stacks and time "
                f"series are not supported yet: {_EXPORT_HINT}."
            )
        elif axis in "IQ" and length <= MAX_BARE_PLANES:
            channels.append(index)
        elif axis in "IQ":
            raise UnsupportedLayout(
                f"'{filename}' has {length} image planes without metadata saying what they are; "
                f"stacks of more than {MAX_BARE_PLANES} planes are read as z-stacks or time "
                f"series, which are not supported yet: {_EXPORT_HINT}. For a channel stack, "
                "save it with ImageJ or OME axes 'CYX'."
            )
        else:
            raise UnsupportedLayout(
                f"'{filename}' has an axis {axis!r} of length {length} (axes {axes!r}), which "
                f"is not supported; {_EXPORT_HINT}."
            )
    return _Layout(
        axes.index("Y"), axes.index("X"), tuple(channels), tuple(axes[i] for i in channels)
    )


def _reject_imagej_stacks(tif: tifffile.TiffFile, filename: str) -> None:
    meta = tif.imagej_metadata or {}
    for key, what in (("slices", "a z-stack"), ("frames", "a time series")):
        count = meta.get(key, 1)
        if isinstance(count, int) and count > 1:
            raise UnsupportedLayout(
                f"'{filename}' is {what} (ImageJ {key}={count}); z-stacks and time series "
                f"are not supported yet: {_EXPORT_HINT}."
            )


def _read_pixels(series: tifffile.TiffPageSeries, filename: str) -> np.ndarray:
    try:
        return series.asarray()
    except Exception as exc:
        if "imagecodecs" in str(exc):
            raise UnsupportedImageType(
                f"'{filename}' uses a TIFF compression this server cannot decode ({exc}); "
                "save it uncompressed or with zlib/deflate compression."
            ) from exc
        raise _corrupt(filename, exc) from exc


def _corrupt(filename: str, exc: Exception) -> InvalidImage:
    return InvalidImage(
        f"'{filename}' is a truncated or corrupt TIFF file ({exc}); upload the complete file."
    )
