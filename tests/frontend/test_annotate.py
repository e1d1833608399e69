"""The annotate workflow end to end: upload, draw at known pixels, undo/redo, save, read back."""

import numpy as np
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.frontend.helpers import (
    click_pixel, gray_png, open_annotate, paint_line, stored_mask, stroke, tiff16_bytes, upload, view_of,
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
    files = {"a.png": gray_png(), "stack16.tif": tiff16_bytes(), "notes.png": b"<html>not an image</html>"}
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
    expect(page.locator('tr[data-collection-id] td.num').first).to_have_text("2")
    shot()
