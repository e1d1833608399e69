import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from backend.imaging import (
    ImageTooLarge,
    InvalidImage,
    UnsupportedImageType,
    UnsupportedLayout,
    decode_image,
)

MAX_PIXELS = 50_000_000


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def tiff_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def ramp(shape: tuple[int, ...], dtype, scale: int = 1) -> np.ndarray:
    return (np.arange(np.prod(shape)).reshape(shape) * scale % (np.iinfo(dtype).max + 1)).astype(
        dtype
    )


def png_header_claiming(width: int, height: int, depth: int = 8, colour_type: int = 0) -> bytes:
    """A small PNG whose IHDR claims width x height pixels of the given depth and type."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def tiff_header_claiming(width: int, height: int) -> bytes:
    """A tiny little-endian TIFF whose IFD claims width x height 8-bit grey pixels."""
    tags = [  # (tag, type, count, value); type 3 = SHORT, 4 = LONG
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 16),
    ]
    ifd_offset = 8 + 16
    ifd = struct.pack("<H", len(tags))
    ifd += b"".join(struct.pack("<HHII", *tag) for tag in tags) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + b"\x00" * 16 + ifd


def decode(data: bytes, filename: str = "image.tif", **kwargs):
    return decode_image(data, filename, max_pixels=kwargs.pop("max_pixels", MAX_PIXELS), **kwargs)


# PNG and JPEG


def test_decode_png_8bit_grey_keeps_values():
    pixels = ramp((32, 48), np.uint8)
    image = decode(png_bytes(pixels), "a.png")
    assert (image.width, image.height, image.channels) == (48, 32, 1)
    assert (image.dtype, image.format, image.axes) == ("uint8", "png", "YXC")
    np.testing.assert_array_equal(image.array[..., 0], pixels)


def test_decode_png_16bit_grey_keeps_16bit_values():
    pixels = ramp((32, 32), np.uint16, scale=61)
    image = decode(png_bytes(pixels), "a.png")
    assert image.dtype == "uint16" and image.array.max() > 255
    np.testing.assert_array_equal(image.array[..., 0], pixels)


def test_decode_png_rgb_is_colour():
    pixels = ramp((16, 16, 3), np.uint8, scale=7)
    image = decode(png_bytes(pixels), "a.png")
    assert image.channels == 3 and image.is_rgb
    np.testing.assert_array_equal(image.array, pixels)


def test_decode_png_rgba_drops_alpha():
    pixels = ramp((16, 16, 4), np.uint8, scale=5)
    image = decode(png_bytes(pixels), "a.png")
    assert image.channels == 3 and image.is_rgb
    np.testing.assert_array_equal(image.array, pixels[..., :3])


def test_decode_png_palette_becomes_rgb():
    pixels = ramp((16, 16, 3), np.uint8, scale=3)
    data = png_bytes(pixels, mode="P")
    assert Image.open(io.BytesIO(data)).mode == "P"
    image = decode(data, "a.png")
    assert image.channels == 3 and image.is_rgb and image.dtype == "uint8"


def test_decode_png_grey_with_alpha_stays_grey():
    pixels = ramp((16, 16), np.uint8)
    image = decode(png_bytes(pixels, mode="LA"), "a.png")
    assert image.channels == 1
    np.testing.assert_array_equal(image.array[..., 0], pixels)


def test_decode_jpeg_rgb_and_grey():
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 24, 3), 120, np.uint8)).save(buffer, format="JPEG")
    colour = decode(buffer.getvalue(), "a.jpg")
    assert (colour.format, colour.channels, colour.width, colour.height) == ("jpeg", 3, 24, 16)
    assert abs(int(colour.array[8, 8, 0]) - 120) <= 2
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16), 80, np.uint8)).save(buffer, format="JPEG")
    assert decode(buffer.getvalue(), "b.jpeg").channels == 1


def test_decode_image_detects_type_by_content_not_extension():
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="JPEG")
    assert decode(buffer.getvalue(), "photo.png").format == "jpeg"


def test_decode_array_is_read_only():
    image = decode(png_bytes(np.zeros((4, 4), np.uint8)), "a.png")
    with pytest.raises(ValueError):
        image.array[0, 0, 0] = 1


# TIFF


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_decode_tiff_single_channel_keeps_dtype(dtype):
    pixels = (np.arange(24 * 16).reshape(24, 16) * 3).astype(dtype)
    image = decode(tiff_bytes(pixels))
    assert (image.format, image.dtype, image.channels) == ("tiff", np.dtype(dtype).name, 1)
    assert (image.width, image.height) == (16, 24)
    np.testing.assert_array_equal(image.array[..., 0], pixels)


@pytest.mark.parametrize("channels", [2, 3, 4, 5])
def test_decode_tiff_channel_stack_without_metadata_becomes_channels(channels):
    pixels = ramp((channels, 8, 12), np.uint16, scale=11)
    image = decode(tiff_bytes(pixels, photometric="minisblack"))
    assert image.channels == channels and not image.is_rgb
    np.testing.assert_array_equal(image.array, np.moveaxis(pixels, 0, -1))


@pytest.mark.parametrize("kwargs", [{"imagej": True}, {"ome": True}])
def test_decode_tiff_cyx_with_metadata_becomes_channels(kwargs):
    pixels = ramp((3, 8, 12), np.uint16, scale=13)
    image = decode(tiff_bytes(pixels, metadata={"axes": "CYX"}, **kwargs))
    assert image.channels == 3 and image.axes == "YXC"
    np.testing.assert_array_equal(image.array, np.moveaxis(pixels, 0, -1))


def test_decode_tiff_yxs_rgb_is_colour():
    pixels = ramp((8, 12, 3), np.uint8, scale=3)
    image = decode(tiff_bytes(pixels, photometric="rgb"))
    assert image.is_rgb and image.channels == 3
    np.testing.assert_array_equal(image.array, pixels)


def test_decode_tiff_rgba_drops_alpha():
    pixels = ramp((8, 12, 4), np.uint8, scale=3)
    image = decode(tiff_bytes(pixels, photometric="rgb", extrasamples=["unassalpha"]))
    assert image.is_rgb and image.channels == 3
    np.testing.assert_array_equal(image.array, pixels[..., :3])


def test_decode_tiff_int16_with_negatives_becomes_float32():
    pixels = np.array([[-5, 0], [7, 300]], np.int16)
    image = decode(tiff_bytes(pixels))
    assert image.dtype == "float32"
    np.testing.assert_array_equal(image.array[..., 0], pixels.astype(np.float32))


def test_decode_tiff_uint32_in_range_becomes_uint16():
    image = decode(tiff_bytes(np.array([[0, 65535]], np.uint32)))
    assert image.dtype == "uint16" and image.array.max() == 65535


def test_decode_tiff_float64_becomes_float32():
    assert decode(tiff_bytes(np.full((4, 4), 0.25))).dtype == "float32"


def test_decode_tiff_nan_only_is_invalid():
    with pytest.raises(InvalidImage, match="no finite pixel"):
        decode(tiff_bytes(np.full((4, 4), np.nan, np.float32)))


# Bad input


def test_decode_empty_bytes_is_invalid():
    with pytest.raises(InvalidImage, match="empty"):
        decode(b"", "a.png")


def test_decode_html_renamed_png_says_not_a_png():
    html = b"<!DOCTYPE html><html><body>Not found</body></html>"
    with pytest.raises(InvalidImage, match=r"not a PNG file: its content is HTML"):
        decode(html, "cells.png")


def test_decode_unknown_bytes_is_invalid():
    with pytest.raises(InvalidImage, match="no known image format"):
        decode(bytes(range(256)) * 4, "cells.tif")


def test_decode_truncated_png_is_invalid():
    data = png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    with pytest.raises(InvalidImage, match="truncated"):
        decode(data[: len(data) // 2], "a.png")


def test_decode_truncated_tiff_is_invalid():
    data = tiff_bytes(ramp((64, 64), np.uint8))
    with pytest.raises(InvalidImage, match="truncated"):
        decode(data[: len(data) // 2])


def test_decode_corrupt_tiff_header_is_invalid():
    with pytest.raises(InvalidImage, match="corrupt"):
        decode(b"II*\x00" + b"\xff" * 12)


def test_decode_png_claiming_100k_square_is_too_large():
    with pytest.raises(ImageTooLarge):
        decode(png_header_claiming(100_000, 100_000), "bomb.png")


def test_decode_tiff_claiming_100k_square_is_too_large():
    with pytest.raises(ImageTooLarge, match="100000x100000"):
        decode(tiff_header_claiming(100_000, 100_000), "bomb.tif")


def test_decode_16bit_colour_png_is_unsupported_type():
    with pytest.raises(UnsupportedImageType, match="16-bit colour"):
        decode(png_header_claiming(4, 4, depth=16, colour_type=2), "a.png")


def test_decode_png_over_max_pixels_is_too_large():
    with pytest.raises(ImageTooLarge, match="64x64"):
        decode(png_bytes(np.zeros((64, 64), np.uint8)), "a.png", max_pixels=1000)


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("WEBP", "WebP")])
def test_decode_unsupported_format_is_unsupported_type(fmt, name):
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format=fmt)
    with pytest.raises(UnsupportedImageType, match=name):
        decode(buffer.getvalue(), "cells.png")


@pytest.mark.parametrize(
    ("shape", "axes", "kwargs", "match"),
    [
        ((4, 2, 8, 8), "ZCYX", {"imagej": True}, "z-stack"),
        ((3, 8, 8), "TYX", {"imagej": True}, "time series"),
        ((4, 8, 8), "ZYX", {"ome": True}, "z-stack"),
        ((3, 2, 8, 8), "TCYX", {"ome": True}, "time series"),
    ],
)
def test_decode_stack_with_metadata_is_unsupported_layout(shape, axes, kwargs, match):
    data = tiff_bytes(np.zeros(shape, np.uint16), metadata={"axes": axes}, **kwargs)
    with pytest.raises(UnsupportedLayout, match=rf"{match}.*not supported yet"):
        decode(data)


def test_decode_many_bare_planes_is_unsupported_layout():
    data = tiff_bytes(np.zeros((12, 8, 8), np.uint8), metadata=None)
    with pytest.raises(UnsupportedLayout, match="12 image planes"):
        decode(data)


def test_decode_too_many_channels_is_unsupported_layout():
    data = tiff_bytes(np.zeros((10, 8, 8), np.uint8), imagej=True, metadata={"axes": "CYX"})
    with pytest.raises(UnsupportedLayout, match="10 channels"):
        decode(data)


def test_decode_animated_png_is_unsupported_layout():
    frames = [Image.new("L", (8, 8), value) for value in (0, 128)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedLayout, match="2 frames"):
        decode(buffer.getvalue(), "a.png")
