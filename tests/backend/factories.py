"""Small images, masks and archives made in the test, so no test needs ../shared."""

import io
import zipfile

import numpy as np
import tifffile
from PIL import Image


def gradient(h: int = 48, w: int = 64, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0
    base = np.linspace(0, top * 0.8, w, dtype=np.float64)[None, :].repeat(h, 0)
    noise = rng.uniform(0, top * 0.2, size=(h, w))
    return (base + noise).astype(dtype)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def tiff_bytes(array: np.ndarray, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def jpeg_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def label_image(h: int = 48, w: int = 64, objects: int = 2, dtype: type = np.uint8) -> np.ndarray:
    labels = np.zeros((h, w), dtype=dtype)
    for i in range(objects):
        labels[4 + 6 * i : 8 + 6 * i, 4:12] = i + 1
    return labels


def decode_png(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)))
