import io

import numpy as np
import pytest
from PIL import Image

from backend.imaging import encode_png, make_thumbnail, render_display


def test_render_16bit_grey_spans_full_8bit_range():
    pixels = np.linspace(1000, 40000, 64 * 64).reshape(64, 64, 1).astype(np.uint16)
    display = render_display(pixels)
    assert display.shape == (64, 64, 3) and display.dtype == np.uint8
    assert display.min() == 0 and display.max() == 255
    np.testing.assert_array_equal(display[..., 0], display[..., 2])


def test_render_constant_image_is_uniform():
    display = render_display(np.full((8, 8, 1), 500, np.uint16))
    assert np.unique(display).tolist() == [128]
    assert render_display(np.zeros((8, 8), np.float32)).max() == 0


def test_render_float_with_nan_is_finite_and_black_at_nan():
    pixels = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    pixels[0, 0] = np.nan
    pixels[0, 1] = np.inf
    display = render_display(pixels)
    assert display[0, 0].tolist() == [0, 0, 0] and display[0, 1].tolist() == [0, 0, 0]
    assert display.max() == 255


def test_render_sparse_spots_use_min_max():
    pixels = np.zeros((100, 100), np.uint16)
    pixels[5, 5] = 1000
    display = render_display(pixels)
    assert display[5, 5, 0] == 255 and display[0, 0, 0] == 0


def test_render_rgb_photo_keeps_colours():
    photo = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(render_display(photo), photo)


def test_render_rgba_photo_drops_alpha():
    photo = np.random.default_rng(1).integers(0, 255, (8, 8, 4), dtype=np.uint8)
    np.testing.assert_array_equal(render_display(photo, rgb=True), photo[..., :3])


def test_render_two_channels_are_green_and_magenta():
    pixels = np.zeros((2, 4, 2), np.uint16)
    pixels[0, :, 0] = 1000  # row 0: channel 0 only
    pixels[1, :, 1] = 1000  # row 1: channel 1 only
    display = render_display(pixels)
    assert display[0, 0].tolist() == [0, 255, 0]
    assert display[1, 0].tolist() == [255, 0, 255]


def test_render_three_fluorescence_channels_map_to_red_green_blue():
    pixels = np.zeros((3, 4, 3), np.uint16)
    for c in range(3):
        pixels[c, :, c] = 1000  # row c: channel c only
    display = render_display(pixels)
    assert [display[c, 0].tolist() for c in range(3)] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]


def test_render_16bit_rgb_keeps_colour_balance():
    pixels = np.zeros((20, 20, 3), np.uint16)
    pixels[:10] = (4000, 2000, 0)
    display = render_display(pixels, rgb=True)
    assert display[0, 0].tolist() == [255, 128, 0]


@pytest.mark.parametrize("channels", [4, 5, 9])
def test_render_many_channels_composites_to_rgb(channels):
    pixels = np.random.default_rng(2).integers(0, 4000, (16, 16, channels), dtype=np.uint16)
    display = render_display(pixels)
    assert display.shape == (16, 16, 3) and display.dtype == np.uint8


def test_render_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        render_display(np.zeros((2, 2, 2, 2), np.uint8))


def test_encode_png_round_trips_rgb():
    display = np.random.default_rng(3).integers(0, 255, (8, 6, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(display))))
    np.testing.assert_array_equal(decoded, display)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((500, 1000), (256, 128)), ((1000, 300), (77, 256)), ((20, 30), (30, 20))],
)
def test_make_thumbnail_keeps_aspect_within_max_side(shape, expected):
    display = np.zeros((*shape, 3), np.uint8)
    thumbnail = Image.open(io.BytesIO(make_thumbnail(display)))
    assert thumbnail.format == "PNG" and thumbnail.size == expected


def test_make_thumbnail_rejects_bad_max_side():
    with pytest.raises(ValueError, match="max_side"):
        make_thumbnail(np.zeros((4, 4, 3), np.uint8), max_side=0)
