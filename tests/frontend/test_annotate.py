"""The annotate workflow end to end: upload, draw at known pixels, undo/redo, save, read back."""

import io
import re

import httpx
import numpy as np
import pytest
import tifffile
from PIL import Image
from playwright.sync_api import Page, expect

from tests.frontend.helpers import (
    click_pixel,
    gray_png,
    open_annotate,
    paint_line,
    png_bytes,
    stored_mask,
    stroke,
    tiff16_bytes,
    upload,
    view_of,
)

pytestmark = pytest.mark.browser


def test_upload_shows_progress_and_server_errors_per_file(logged_in: Page, tmp_path, shot) -> None:
    page = logged_in
    page.get_by_test_id("collection-name").fill("cells")
    page.get_by_test_id("collection-kind").select_option("semantic")
    page.get_by_test_id("add-class").click()
    page.get_by_test_id("class-name-1").fill("membrane")
    page.get_by_test_id("create-collection").click()
    expect(page.get_by_test_id("collections-table")).to_contain_text("cells")
    files = {
        "a.png": gray_png(),
        "stack16.tif": tiff16_bytes(),
        "notes.png": b"<html>not an image</html>",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    page.get_by_test_id("upload-input").set_input_files(paths)
    expect(page.locator(".upload-row.ok")).to_have_count(2)
    error = page.get_by_test_id("upload-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("notes.png")
    expect(page.locator('.upload-row[data-filename="stack16.tif"]')).to_contain_text("uint16")
    expect(page.locator("tr[data-collection-id] td.num").first).to_have_text("2")
    shot()
    # drag and drop works as well as the file picker
    page.evaluate(
        """async (bytes) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'}));
            const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});
            document.querySelector('[data-testid=dropzone]').dispatchEvent(drop);
        }""",
        list(gray_png(32, 32, seed=9)),
    )
    expect(page.locator('.upload-row.ok[data-filename="dropped.png"]')).to_be_visible()
    expect(page.locator("tr[data-collection-id] td.num").first).to_have_text("3")


def _collection(
    admin: httpx.Client, kind: str, classes: list[tuple[str, str]], name: str = ""
) -> int:
    r = admin.post(
        "/api/v1/collections",
        json={
            "name": name or f"{kind}-set",
            "kind": kind,
            "classes": [{"name": n, "color": c} for n, c in classes],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _label_count(page: Page, value: int) -> int:
    return page.evaluate("v => window.maskloopEditor.mask.data.filter(x => x === v).length", value)


def test_brush_erase_fill_undo_redo_save_reads_back_exact_pixels(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid = _collection(admin, "semantic", [("nucleus", "#ff3b30"), ("membrane", "#34c759")])
    image = upload(admin, cid, "stack16.tif", tiff16_bytes(96, 64))
    assert image["dtype"] == "uint16"
    page.goto(f"/#/collections/{cid}")
    page.locator(f'.thumb[data-image-id="{image["id"]}"]').click()
    canvas = page.get_by_test_id("annotation-canvas")
    expect(canvas).to_have_attribute("data-zoom", re.compile(r"^\d"))
    expect(page.get_by_test_id("display-source")).to_contain_text("original uint16")
    expected = np.zeros((64, 96), np.uint8)

    # 1. brush, class 1, size 3, at the fit zoom
    page.get_by_test_id("tool-brush").click()
    page.get_by_test_id("brush-size").fill("3")
    page.get_by_test_id("class-select").select_option("1")
    first_zoom = float(canvas.get_attribute("data-zoom"))
    stroke(page, canvas, [(10, 10), (30, 10)])
    paint_line(expected, (10, 10), (30, 10), 3, 1)

    # 2. zoom in twice with '+', pan with the middle button, then class 2, size 1, vertically
    canvas.focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    v = view_of(canvas)
    page.mouse.move(v.left + 300, v.top + 300)
    page.mouse.down(button="middle")
    page.mouse.move(v.left + 260, v.top + 520, steps=4)
    page.mouse.up(button="middle")
    second = view_of(canvas)
    assert second.zoom > first_zoom * 1.5
    assert (second.pan_x, second.pan_y) != (v.pan_x, v.pan_y)
    page.get_by_test_id("brush-size").fill("1")
    canvas.focus()
    page.keyboard.press("2")
    expect(page.get_by_test_id("class-select")).to_have_value("2")
    stroke(page, canvas, [(50, 5), (50, 25)])
    paint_line(expected, (50, 5), (50, 25), 1, 2)

    # 3. erase part of the first stroke (its middle row, x 20..24)
    page.get_by_test_id("tool-eraser").click()
    stroke(page, canvas, [(20, 10), (24, 10)])
    expected[10, 20:25] = 0

    # 4. back to the fit view; a closed outline of class 1, flood-filled inside with class 2
    page.get_by_test_id("zoom-fit").click()
    page.get_by_test_id("tool-brush").click()
    page.keyboard.press("1")
    stroke(page, canvas, [(5, 30), (25, 30), (25, 45), (5, 45), (5, 30)])
    for a, b in [
        ((5, 30), (25, 30)),
        ((25, 30), (25, 45)),
        ((25, 45), (5, 45)),
        ((5, 45), (5, 30)),
    ]:
        paint_line(expected, a, b, 1, 1)
    page.get_by_test_id("tool-fill").click()
    page.keyboard.press("2")
    click_pixel(page, canvas, 15, 38)
    expected[31:45, 6:25] = 2
    filled = _label_count(page, 2)
    assert filled == int((expected == 2).sum())

    # 5. undo the fill, then redo it
    page.get_by_test_id("undo").click()
    assert _label_count(page, 2) == filled - 19 * 14
    page.keyboard.press("Control+Shift+Z")
    assert _label_count(page, 2) == filled
    page.keyboard.press("Control+z")
    page.get_by_test_id("redo").click()

    # 6. clear the whole mask (a proposal worse than nothing), then take it back
    drawn = _label_count(page, 0)
    page.get_by_test_id("clear-mask").click()
    assert _label_count(page, 0) == expected.size
    expect(page.get_by_test_id("status-message")).to_contain_text("Mask cleared")
    page.keyboard.press("Control+z")
    assert _label_count(page, 0) == drawn and _label_count(page, 2) == filled
    expect(page.get_by_test_id("dirty")).to_contain_text("unsaved")
    shot("before-save")

    # 7. save, read back through the REST API
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("status-message")).to_contain_text("Saved version 1")
    expect(page.get_by_test_id("dirty")).to_have_text("")
    stored = stored_mask(admin, image["id"])
    assert stored.dtype == np.uint8
    assert stored.shape == expected.shape
    diff = np.argwhere(stored != expected)
    assert diff.size == 0, f"{len(diff)} pixels differ, first at (y, x) {diff[:5].tolist()}"
    versions = admin.get(f"/api/v1/images/{image['id']}/annotation/versions").json()["data"]
    assert versions[-1]["seconds_spent"] > 0
    shot()


def test_instance_objects_never_merge_and_16bit_ids_round_trip(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid = _collection(admin, "instance", [("nucleus", "#ff3b30"), ("cell", "#0a84ff")])
    image = upload(admin, cid, "cells.png", gray_png(64, 48))
    start = np.zeros((48, 64), np.uint16)
    start[30:40, 40:50] = 1000  # an object id that needs a 16-bit PNG
    r = admin.put(
        f"/api/v1/images/{image['id']}/annotation",
        files={"mask": ("m.png", png_bytes(start), "image/png")},
    )
    assert r.status_code == 200, r.text
    canvas = open_annotate(page, image["id"])
    expect(page.get_by_test_id("model-version")).to_contain_text("saved annotation v1")
    expected = start.copy()

    # object 1001 crosses object 1000: only background is painted
    page.get_by_test_id("brush-size").fill("3")
    canvas.focus()
    page.keyboard.press("n")
    expect(page.get_by_test_id("current-object")).to_contain_text("1001")
    stroke(page, canvas, [(30, 35), (55, 35)])
    band = expected[34:37, 29:57]
    band[band == 0] = 1001
    # object 1002, then deleted
    page.keyboard.press("n")
    page.get_by_test_id("brush-size").fill("1")
    stroke(page, canvas, [(5, 10), (20, 10)])
    page.get_by_test_id("tool-select").click()
    click_pixel(page, canvas, 10, 10)
    expect(page.get_by_test_id("current-object")).to_contain_text("1002")
    canvas.focus()
    page.keyboard.press("Delete")
    # the eraser removes only the selected object (1001), not 1000 under the same path
    click_pixel(page, canvas, 32, 35)
    expect(page.get_by_test_id("current-object")).to_contain_text("1001")
    page.get_by_test_id("class-select").select_option("2")
    page.get_by_test_id("tool-eraser").click()
    stroke(page, canvas, [(30, 35), (55, 35)])
    row = expected[35, 30:56]
    row[row == 1001] = 0
    shot("before-save")

    canvas.focus()
    page.keyboard.press("Enter")  # accept & next: saves, then finds no image left
    expect(page.get_by_test_id("status-message")).to_contain_text("Saved")
    expect(page.get_by_test_id("dirty")).to_have_text("")
    stored = stored_mask(admin, image["id"])
    assert stored.dtype == np.uint16
    assert np.array_equal(stored, expected), np.argwhere(stored != expected)[:5].tolist()
    latest = admin.get(f"/api/v1/images/{image['id']}/annotation/versions").json()["data"][-1]
    assert latest["version"] == 2
    assert latest["object_classes"] == {"1000": 1, "1001": 2}
    shot()


def test_leaving_with_unsaved_changes_asks_first(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid = _collection(admin, "semantic", [("nucleus", "#ff3b30")])
    image = upload(admin, cid, "a.png", gray_png())
    canvas = open_annotate(page, image["id"])
    stroke(page, canvas, [(5, 5), (15, 5)])
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator(".annotate-top a.crumb").click()
    expect(page).to_have_url(re.compile(f"#/annotate/{image['id']}$"))
    assert asked and "unsaved" in asked[0]
    assert _label_count(page, 1) > 0
    canvas.focus()
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts")).to_be_visible()
    shot()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("shortcuts")).to_have_count(0)
    # closing the tab asks too (beforeunload)
    kinds: list[str] = []
    page.remove_listener("dialog", dismiss)
    page.on("dialog", lambda d: (kinds.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert kinds == ["beforeunload"]


def test_polygon_fills_pixels_whose_centres_are_inside(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid = _collection(admin, "semantic", [("nucleus", "#ff3b30"), ("membrane", "#34c759")])
    image = upload(admin, cid, "a.png", gray_png(64, 48))
    canvas = open_annotate(page, image["id"])
    page.get_by_test_id("tool-polygon").click()
    canvas.focus()
    page.keyboard.press("2")
    view = view_of(canvas)
    corners = [(10, 10), (20, 10), (20, 15), (10, 15)]  # pixel corners, not centres
    for x, y in corners:
        page.mouse.click(
            view.left + view.pan_x + x * view.zoom, view.top + view.pan_y + y * view.zoom
        )
    page.keyboard.press("Enter")  # closes the polygon; does not save
    expect(page.get_by_test_id("dirty")).to_contain_text("unsaved")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("status-message")).to_contain_text("Saved version 1")
    expected = np.zeros((48, 64), np.uint8)
    expected[10:15, 10:20] = 2
    assert np.array_equal(stored_mask(admin, image["id"]), expected)
    shot()


def test_multichannel_16bit_tiff_offers_channels_and_jpeg_falls_back_to_rendering(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid = _collection(admin, "semantic", [("nucleus", "#ff3b30")])
    rng = np.random.default_rng(3)
    stack = rng.integers(0, 4000, (2, 40, 50), dtype=np.uint16)
    stack[1, 10:30, 10:30] += 20000
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, stack, imagej=True, metadata={"axes": "CYX"})
    tiff = upload(admin, cid, "two.tif", buffer.getvalue())
    assert tiff["channels"] == 2, tiff
    open_annotate(page, tiff["id"])
    expect(page.get_by_test_id("display-source")).to_contain_text("original uint16")
    channel = page.get_by_test_id("channel-select")
    expect(channel.locator("option")).to_have_count(3)  # all, 1, 2
    channel.select_option("1")
    page.get_by_test_id("contrast-auto").click()
    shot("channel2")
    jpeg = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (30, 40), dtype=np.uint8)).save(jpeg, format="JPEG")
    # A grey photo cannot join a 2-channel collection (one model, one channel layout).
    photos = _collection(admin, "semantic", [("nucleus", "#ff3b30")], name="photos")
    photo = upload(admin, photos, "photo.jpg", jpeg.getvalue())
    open_annotate(page, photo["id"])
    expect(page.get_by_test_id("display-source")).to_contain_text("server rendering")


def test_wheel_zoom_keeps_the_pixel_under_the_cursor_and_space_drag_pans(
    logged_in: Page, admin: httpx.Client
) -> None:
    page = logged_in
    cid = _collection(admin, "semantic", [("nucleus", "#ff3b30")])
    image = upload(admin, cid, "a.png", gray_png(64, 48))
    canvas = open_annotate(page, image["id"])
    before = view_of(canvas)
    x, y = before.screen(40, 20)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    after = view_of(canvas)
    assert after.zoom > before.zoom * 1.5
    image_x = (x - after.left - after.pan_x) / after.zoom
    image_y = (y - after.top - after.pan_y) / after.zoom
    assert (int(image_x), int(image_y)) == (40, 20)
    canvas.focus()
    page.keyboard.down(" ")
    page.mouse.down()
    page.mouse.move(x + 50, y - 30, steps=3)
    page.mouse.up()
    page.keyboard.up(" ")
    moved = view_of(canvas)
    assert (round(moved.pan_x - after.pan_x), round(moved.pan_y - after.pan_y)) == (50, -30)
    assert _label_count(page, 1) == 0  # panning did not paint
