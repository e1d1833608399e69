"""8-bit display renderings and thumbnails of decoded images.

Contrast rule, per channel: map the 0.5th..99.5th percentile of the finite values to 0..255. When
those percentiles coincide (e.g. sparse bright spots on a flat background) the min..max is used;
a constant channel becomes 0 when its value is <= 0 and mid-grey (128) otherwise. NaN and
infinite pixels are drawn black.

Colour rule: 1 channel is grey; an RGB image (8-bit: shown unchanged; 16-bit/float: one shared
stretch so colours keep their balance) keeps its colours and drops alpha; 3 non-RGB channels go
to red, green and blue; 2 or >= 4 channels (fluorescence) are composited additively with
:data:`COMPOSITE_COLOURS`.
"""

import io

import numpy as np
from PIL import Image

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
# Enough values for stable percentiles; larger images are sampled with a fixed stride.
_PERCENTILE_SAMPLE = 1 << 20
# zlib level 3 writes renderings about twice as fast as Pillow's default 6 for ~10% more bytes.
_PNG_COMPRESS_LEVEL = 3

COMPOSITE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),  # green
    (255, 0, 255),  # magenta
    (0, 255, 255),  # cyan
    (255, 255, 0),  # yellow
    (255, 0, 0),  # red
    (0, 0, 255),  # blue
    (255, 128, 0),  # orange
    (255, 255, 255),  # white
)


def render_display(array: np.ndarray, *, rgb: bool | None = None) -> np.ndarray:
    """Render an image for the browser. Shape: (H, W) or (H, W, C) -> (H, W, 3) uint8.

    ``rgb`` says whether 3 or 4 channels are red, green, blue (and alpha). ``None`` guesses True
    for 8-bit images with exactly 3 channels (decode_image already drops alpha, so 4 channels
    from it are fluorescence). Pass ``DecodedImage.is_rgb`` when you have it.
    """
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] < 1:
        raise ValueError(f"expected an (H, W) or (H, W, C) array, got shape {array.shape}")
    channels = array.shape[2]
    if rgb is None:
        rgb = array.dtype == np.uint8 and channels == 3
    if rgb and channels in (3, 4):
        colour = array[..., :3]
        if colour.dtype == np.uint8:
            return np.ascontiguousarray(colour)
        return _stretch(colour)
    if channels == 1:
        return np.repeat(_stretch(array[..., 0])[..., None], 3, axis=2)
    if channels == 3:
        return np.stack([_stretch(array[..., c]) for c in range(3)], axis=2)
    return _composite(array)


def _composite(array: np.ndarray) -> np.ndarray:
    """Shape: (H, W, C) -> (H, W, 3) uint8, additive colours clipped at 255."""
    height, width, channels = array.shape
    total = np.zeros((height, width, 3), dtype=np.uint16)
    for c in range(channels):
        colour = np.array(COMPOSITE_COLOURS[c % len(COMPOSITE_COLOURS)], dtype=np.uint16)
        total += _stretch(array[..., c])[..., None].astype(np.uint16) * colour // 255
    return np.minimum(total, 255).astype(np.uint8)


def _stretch(values: np.ndarray) -> np.ndarray:
    """Percentile contrast stretch of one channel (or of RGB jointly) to uint8. Shape kept."""
    data = values.astype(np.float32, copy=False)
    finite = np.isfinite(data)
    sample = data[finite] if not finite.all() else data.ravel()
    if sample.size == 0:
        return np.zeros(values.shape, dtype=np.uint8)
    if sample.size > _PERCENTILE_SAMPLE:
        sample = sample[:: sample.size // _PERCENTILE_SAMPLE]
    low, high = np.percentile(sample, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        grey = 0 if low <= 0 else 128
        return np.full(values.shape, grey, dtype=np.uint8)
    scaled = (data - np.float32(low)) * np.float32(255.0 / (high - low))
    scaled = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0), 0, 255)
    return np.rint(scaled).astype(np.uint8)


def encode_png(array: np.ndarray) -> bytes:
    """Encode uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), or uint16 (H, W[, 1]) as PNG."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    valid = (array.dtype == np.uint8 and (array.ndim == 2 or array.shape[2] in (3, 4))) or (
        array.dtype == np.uint16 and array.ndim == 2
    )
    if not valid:
        raise ValueError(
            f"cannot encode {array.dtype} array of shape {array.shape} as PNG; expected uint8 "
            "grey/RGB/RGBA or uint16 grey"
        )
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(array))
    image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def make_thumbnail(display: np.ndarray, max_side: int = 256) -> bytes:
    """PNG of ``display`` (uint8, (H, W) or (H, W, 3)) fitted in max_side x max_side.

    The aspect ratio is kept, each side is at least 1 pixel, and small images are not enlarged.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    if display.dtype != np.uint8 or display.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 display rendering, got {display.dtype} {display.shape}")
    image = Image.fromarray(np.ascontiguousarray(display))
    height, width = display.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size != (width, height):
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
