"""Shared helpers for the browser tests: test images, image<->screen mapping, mask read-back."""

import io
from dataclasses import dataclass

import httpx
import numpy as np
import tifffile
from PIL import Image
from playwright.sync_api import Locator, Page, expect


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def tiff16_bytes(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    """A 16-bit TIFF with values far above 255, as a microscope camera writes them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    blobs = 3000 * np.exp(-(((xx - width * 0.6) ** 2 + (yy - height * 0.4) ** 2) / (2 * 9.0**2)))
    array = (400 + blobs + rng.normal(0, 40, (height, width))).clip(0, 65535).astype(np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array)
    return buffer.getvalue()


def gray_png(width: int = 64, height: int = 48, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    return png_bytes(rng.integers(0, 120, (height, width), dtype=np.uint8))


def upload(admin: httpx.Client, collection_id: int, name: str, data: bytes) -> dict:
    r = admin.post(f"/api/v1/collections/{collection_id}/images", files={"files": (name, data)})
    assert r.status_code == 201, r.text
    return r.json()["data"][0]


def stored_mask(admin: httpx.Client, image_id: int) -> np.ndarray:
    r = admin.get(f"/api/v1/images/{image_id}/annotation")
    assert r.status_code == 200, r.text
    return np.array(Image.open(io.BytesIO(r.content)))


def disk(size: int) -> list[tuple[int, int]]:
    """Pixel offsets of the round brush, by the rule in frontend/annotate/mask.js."""
    r = size // 2
    return [
        (dx, dy)
        for dy in range(-r, r + 1)
        for dx in range(-r, r + 1)
        if dx * dx + dy * dy <= (size / 2) ** 2
    ]


def paint_line(
    mask: np.ndarray, a: tuple[int, int], b: tuple[int, int], size: int, value: int
) -> None:
    """Expected result of a straight horizontal or vertical stroke."""
    (ax, ay), (bx, by) = a, b
    assert ax == bx or ay == by
    points = (
        [(x, ay) for x in range(min(ax, bx), max(ax, bx) + 1)]
        if ay == by
        else [(ax, y) for y in range(min(ay, by), max(ay, by) + 1)]
    )
    h, w = mask.shape
    for x, y in points:
        for dx, dy in disk(size):
            if 0 <= x + dx < w and 0 <= y + dy < h:
                mask[y + dy, x + dx] = value


@dataclass
class View:
    """The canvas's mapping, read from its data attributes and bounding box."""

    left: float
    top: float
    width: float
    height: float
    zoom: float
    pan_x: float
    pan_y: float

    def screen(self, x: float, y: float) -> tuple[float, float]:
        """Page coordinates of the centre of image pixel (x, y)."""
        return self.left + self.pan_x + (x + 0.5) * self.zoom, self.top + self.pan_y + (
            y + 0.5
        ) * self.zoom

    def visible(self, x: float, y: float) -> bool:
        sx, sy = self.screen(x, y)
        return self.left <= sx < self.left + self.width and self.top <= sy < self.top + self.height


def view_of(canvas: Locator) -> View:
    box = canvas.bounding_box()
    assert box is not None
    attr = canvas.get_attribute
    return View(
        box["x"],
        box["y"],
        box["width"],
        box["height"],
        float(attr("data-zoom") or 0),
        float(attr("data-pan-x") or 0),
        float(attr("data-pan-y") or 0),
    )


def stroke(page: Page, canvas: Locator, points: list[tuple[int, int]], steps: int = 6) -> None:
    """Press at the first image pixel, move through the others, release."""
    view = view_of(canvas)
    for x, y in points:
        assert view.visible(x, y), f"pixel {(x, y)} is off screen at {view}"
    page.mouse.move(*view.screen(*points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*view.screen(*p), steps=steps)
    page.mouse.up()


def click_pixel(page: Page, canvas: Locator, x: int, y: int) -> None:
    page.mouse.click(*view_of(canvas).screen(x, y))


def open_annotate(page: Page, image_id: int) -> Locator:
    page.goto(f"/#/annotate/{image_id}")
    canvas = page.get_by_test_id("annotation-canvas")
    expect(canvas).to_have_attribute("data-zoom", _positive())
    return canvas


def _positive():
    import re

    return re.compile(r"^[0-9.]+(e-?[0-9]+)?$")
