"""The browser's own image codecs, run in Chromium against numpy/tifffile/Pillow references."""

import base64
import io

import numpy as np
import pytest
import tifffile
from PIL import Image
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

DECODE_TIFF = """async ([b64, channels]) => {
  const { decodeTiff } = await import('/lib/tiff.js');
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const r = await decodeTiff(bytes.buffer, channels);
  const planes = r.channels.map(p => Array.from(p));
  return { width: r.width, height: r.height, float: r.float, channels: planes };
}"""


def _tiff(array: np.ndarray, **kwargs: object) -> str:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def blank(page: Page, live_server, errors) -> Page:
    page.goto("/index.html#/login")
    return page


CASES = {
    "uint16 uncompressed": (np.uint16, {}),
    "uint16 zlib": (np.uint16, {"compression": "zlib"}),
    "uint16 zlib + predictor": (np.uint16, {"compression": "zlib", "predictor": True}),
    "uint16 tiled": (np.uint16, {"tile": (16, 16)}),
    "uint16 big-endian, strips": (np.uint16, {"byteorder": ">", "rowsperstrip": 7}),
    "uint8": (np.uint8, {}),
    "float32": (np.float32, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tiff_reader_matches_tifffile(blank: Page, case: str) -> None:
    dtype, kwargs = CASES[case]
    rng = np.random.default_rng(0)
    array = (rng.random((37, 45)) * (60000 if dtype == np.uint16 else 250)).astype(dtype)
    got = blank.evaluate(DECODE_TIFF, [_tiff(array, **kwargs), 1])
    assert (got["width"], got["height"]) == (45, 37)
    assert np.array_equal(np.array(got["channels"][0], dtype=dtype).reshape(37, 45), array)


@pytest.mark.parametrize("layout", ["contig", "separate", "imagej-pages"])
def test_tiff_reader_splits_channels(blank: Page, layout: str) -> None:
    rng = np.random.default_rng(1)
    stack = rng.integers(0, 65535, (3, 20, 30), dtype=np.uint16)
    if layout == "contig":
        data, channels = _tiff(np.moveaxis(stack, 0, -1), photometric="rgb"), 3
    elif layout == "separate":
        data, channels = _tiff(stack, photometric="minisblack", planarconfig="separate"), 3
    else:
        data, channels = _tiff(stack, imagej=True, metadata={"axes": "CYX"}), 3
    got = blank.evaluate(DECODE_TIFF, [data, channels])
    assert len(got["channels"]) == 3
    for c in range(3):
        assert np.array_equal(np.array(got["channels"][c], np.uint16).reshape(20, 30), stack[c])


@pytest.mark.parametrize("high", [255, 65535])
def test_png_encoder_round_trips_through_pillow_and_back(blank: Page, high: int) -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, high + 1, (23, 31)).astype(np.uint16)
    b64 = blank.evaluate(
        """async ([values, w, h]) => {
          const { encodeLabelPng, decodePng } = await import('/lib/png.js');
          const blob = await encodeLabelPng(Uint16Array.from(values), w, h);
          const bytes = new Uint8Array(await blob.arrayBuffer());
          const back = await decodePng(bytes);
          const same = Array.from(back.channels[0]).every((v, i) => v === values[i]);
          if (!same) throw new Error('decode mismatch');
          let s = ''; for (const b of bytes) s += String.fromCharCode(b);
          return btoa(s);
        }""",
        [labels.ravel().tolist(), 31, 23],
    )
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    decoded = np.array(image)
    assert decoded.dtype == (np.uint8 if high == 255 else np.uint16)
    assert np.array_equal(decoded.astype(np.uint16), labels)


def test_png_decoder_reads_pillow_filters_and_colour(blank: Page) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (17, 19, 3), dtype=np.uint8)
    rgb[:, :10] = 40  # flat areas make Pillow pick several row filters
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    got = blank.evaluate(
        """async (b64) => {
          const { decodePng } = await import('/lib/png.js');
          const r = await decodePng(Uint8Array.from(atob(b64), c => c.charCodeAt(0)));
          return r.channels.map(p => Array.from(p));
        }""",
        base64.b64encode(buffer.getvalue()).decode(),
    )
    assert np.array_equal(np.stack([np.array(c).reshape(17, 19) for c in got], -1), rgb)
