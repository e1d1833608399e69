import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from backend.imaging import InvalidMask, decode_mask, encode_mask, mask_objects


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def tiff_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def semantic(data: bytes, width: int = 16, height: int = 12, num_classes: int = 3) -> np.ndarray:
    return decode_mask(data, width=width, height=height, kind="semantic", num_classes=num_classes)


def instance(data: bytes, width: int = 16, height: int = 12) -> np.ndarray:
    return decode_mask(data, width=width, height=height, kind="instance", num_classes=2)


def labels(high: int, dtype=np.uint16) -> np.ndarray:
    return (np.arange(12 * 16).reshape(12, 16) * high // (12 * 16 - 1)).astype(dtype)


def test_encode_mask_round_trips_uint8_bit_exact():
    mask = labels(200, np.uint8)
    decoded = instance(encode_mask(mask))
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, mask)


def test_encode_mask_round_trips_uint16_bit_exact():
    mask = labels(65535)
    data = encode_mask(mask)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    decoded = instance(data)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, mask)


def test_decode_mask_small_values_in_uint16_png_return_uint8():
    mask = labels(2)
    decoded = semantic(png_bytes(mask))
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, mask)


def test_decode_mask_palette_png_gives_indices():
    mask = labels(2, np.uint8)
    paletted = Image.frombytes("P", (16, 12), mask.tobytes())
    paletted.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    buffer = io.BytesIO()
    paletted.save(buffer, format="PNG")
    np.testing.assert_array_equal(semantic(buffer.getvalue()), mask)


def test_decode_mask_tiff_label_image():
    mask = labels(1000)
    np.testing.assert_array_equal(instance(tiff_bytes(mask)), mask)


def test_decode_mask_integer_valued_float_tiff_is_accepted():
    mask = labels(2).astype(np.float32)
    np.testing.assert_array_equal(semantic(tiff_bytes(mask)), mask.astype(np.uint8))


def test_decode_mask_wrong_size_names_both_sizes():
    with pytest.raises(InvalidMask, match=r"^mask is 100x80 but the image is 128x128"):
        semantic(png_bytes(np.zeros((80, 100), np.uint8)), width=128, height=128)


def test_decode_mask_wrong_size_tiff_names_file_and_both_sizes():
    data = tiff_bytes(np.zeros((80, 100), np.uint8))
    with pytest.raises(InvalidMask, match=r"^mask 'm\.tif' is 100x80 but the image is 128x128"):
        decode_mask(data, width=128, height=128, kind="instance", num_classes=2, filename="m.tif")


@pytest.mark.parametrize("channels", [3, 4])
def test_decode_mask_colour_png_is_rejected(channels):
    with pytest.raises(InvalidMask, match="RGB colour"):
        semantic(png_bytes(np.zeros((12, 16, channels), np.uint8)))


def test_decode_mask_rgb_tiff_is_rejected():
    with pytest.raises(InvalidMask, match="more than one plane"):
        semantic(tiff_bytes(np.zeros((12, 16, 3), np.uint8), photometric="rgb"))


def test_decode_mask_float_with_fractions_is_rejected():
    mask = np.zeros((12, 16), np.float32)
    mask[3, 3] = 0.5
    with pytest.raises(InvalidMask, match=r"non-integer values \(e.g. 0.5\)"):
        semantic(tiff_bytes(mask))


def test_decode_mask_semantic_out_of_range_names_values_and_range():
    mask = np.zeros((12, 16), np.uint8)
    mask[0, 0], mask[1, 1] = 5, 7
    with pytest.raises(InvalidMask, match=r"value\(s\) 5, 7.*must be 0\.\.2"):
        semantic(png_bytes(mask), num_classes=3)


def test_decode_mask_negative_values_are_rejected():
    mask = np.zeros((12, 16), np.int16)
    mask[2, 2] = -1
    with pytest.raises(InvalidMask, match="negative"):
        instance(tiff_bytes(mask))


def test_decode_mask_over_16bit_values_are_rejected():
    mask = np.zeros((12, 16), np.uint32)
    mask[2, 2] = 70000
    with pytest.raises(InvalidMask, match="above 16 bits"):
        instance(tiff_bytes(mask))


def test_decode_mask_instance_accepts_any_16bit_id():
    mask = np.zeros((12, 16), np.uint16)
    mask[0, 0] = 65535
    assert instance(png_bytes(mask)).max() == 65535


def test_decode_mask_jpeg_is_rejected():
    buffer = io.BytesIO()
    Image.new("L", (16, 12)).save(buffer, format="JPEG")
    with pytest.raises(InvalidMask, match="JPEG"):
        semantic(buffer.getvalue())


def test_decode_mask_empty_bytes_is_rejected():
    with pytest.raises(InvalidMask, match="empty"):
        semantic(b"")


def test_decode_mask_truncated_png_is_rejected():
    data = png_bytes(np.random.default_rng(0).integers(0, 3, (120, 160), dtype=np.uint8))
    with pytest.raises(InvalidMask, match="truncated"):
        semantic(data[: len(data) // 2], width=160, height=120)


def test_decode_mask_multi_plane_tiff_is_rejected():
    with pytest.raises(InvalidMask, match="more than one plane"):
        semantic(tiff_bytes(np.zeros((2, 12, 16), np.uint8), metadata=None))


def test_decode_mask_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        decode_mask(b"x", width=1, height=1, kind="panoptic", num_classes=2)  # type: ignore[arg-type]


def test_mask_objects_lists_sorted_ids_without_background():
    mask = np.array([[0, 7, 7], [300, 0, 2]], np.uint16)
    assert mask_objects(mask) == [2, 7, 300]
    assert mask_objects(np.zeros((2, 2), np.uint8)) == []


def test_encode_mask_rejects_values_beyond_16bit():
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        encode_mask(np.array([[70000]], np.int64))
