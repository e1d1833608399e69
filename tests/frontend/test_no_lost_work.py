"""The annotate page never loses or duplicates work: saves made meanwhile by someone else, Enter
pressed twice on a slow server, saving twice, a session that ends with unsaved edits."""

import re
from collections.abc import Callable

import httpx
import numpy as np
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, Route, expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.frontend.conftest import sign_in
from tests.frontend.helpers import gray_png, open_annotate, stored_mask, stroke, upload

pytestmark = pytest.mark.browser

ANNOTATOR_PASSWORD = "annotator-password-1"


def _collection(admin: httpx.Client) -> int:
    r = admin.post(
        "/api/v1/collections",
        json={"name": "cells", "kind": "semantic", "classes": [{"name": "a", "color": "#ff3b30"}]},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _versions(admin: httpx.Client, image_id: int) -> list[dict]:
    r = admin.get(f"/api/v1/images/{image_id}/annotation/versions")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _label_count(page: Page, value: int) -> int:
    return page.evaluate("v => window.maskloopEditor.mask.data.filter(x => x === v).length", value)


def _wait_until(page: Page, done: Callable[[], bool], what: str) -> None:
    """Let Playwright dispatch events (route handlers run then) until done() holds."""
    for _ in range(200):
        if done():
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"timed out waiting for {what}")


def _on_image(page: Page, filename: str) -> None:
    """The annotate view of that file is rendered and ready for strokes."""
    expect(page.locator(".annotate-top .filename")).to_have_text(filename)
    expect(page.get_by_test_id("annotation-canvas")).to_have_attribute(
        "data-zoom", re.compile(r"^[0-9.]+")
    )


def test_saving_over_a_version_saved_meanwhile_asks_before_replacing_it(
    logged_in: Page,
    admin: httpx.Client,
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    shot,
) -> None:
    page = logged_in
    image = upload(admin, _collection(admin), "a.png", gray_png(64, 48))
    r = admin.post(
        "/api/v1/users",
        json={"username": "ann", "password": ANNOTATOR_PASSWORD, "role": "annotator"},
    )
    assert r.status_code == 201, r.text
    other = sign_in(new_context(base_url=live_server.url).new_page(), "ann", ANNOTATOR_PASSWORD)
    mine = open_annotate(page, image["id"])
    theirs = open_annotate(other, image["id"])
    for p in (page, other):
        p.get_by_test_id("brush-size").fill("3")

    # Both opened the image before any save; the annotator saves first.
    stroke(other, theirs, [(5, 5), (20, 5)])
    other.get_by_test_id("save").click()
    expect(other.get_by_test_id("status-message")).to_contain_text("Saved version 1")
    stroke(page, mine, [(5, 30), (20, 30)])
    page.get_by_test_id("save").click()
    message = page.get_by_test_id("status-message")
    expect(message).to_contain_text(
        re.compile(
            rf"Image {image['id']} was saved as version 1 by ann at [0-9-]+ [0-9:]+ UTC since "
            "you opened it without a saved annotation; reload to see it, or save again"
        )
    )
    expect(page.get_by_test_id("dirty")).to_contain_text("unsaved")
    assert len(_versions(admin, image["id"])) == 1
    stored = stored_mask(admin, image["id"])
    assert stored[5, 10] == 1 and stored[30, 10] == 0  # theirs, untouched
    shot("conflict")

    # "Save anyway" replaces it knowingly: the next version, from the latest one.
    page.get_by_test_id("save-anyway").click()
    expect(message).to_contain_text("Saved version 2")
    expect(page.get_by_test_id("dirty")).to_have_text("")
    expect(page.get_by_test_id("save-anyway")).to_have_count(0)
    expect(page.get_by_test_id("model-version")).to_contain_text("saved annotation v2")
    stored = stored_mask(admin, image["id"])
    assert stored[30, 10] == 1 and stored[5, 10] == 0
    # The annotator's page now edits from an old version: its next save is refused too.
    stroke(other, theirs, [(5, 40), (20, 40)])
    other.keyboard.press("Control+s")
    expect(other.get_by_test_id("status-message")).to_contain_text(
        "was saved as version 2 by admin"
    )
    assert len(_versions(admin, image["id"])) == 2


def _two_images(admin: httpx.Client) -> tuple[dict, dict]:
    """a.png, then b.png: what Accept & next goes from and to."""
    cid = _collection(admin)
    return (
        upload(admin, cid, "a.png", gray_png(64, 48, seed=1)),
        upload(admin, cid, "b.png", gray_png(64, 48, seed=2)),
    )


def test_enter_twice_on_a_slow_server_saves_once_and_keeps_the_next_images_edits(
    logged_in: Page, admin: httpx.Client
) -> None:
    page = logged_in
    first, second = _two_images(admin)
    # Hold every request for the next image until the test lets it go: a server busy training.
    held: list[Route] = []
    page.route(re.compile(r"/api/v1/collections/\d+/next"), lambda route: held.append(route))
    canvas = open_annotate(page, first["id"])
    stroke(page, canvas, [(5, 5), (20, 5)])
    canvas.focus()
    page.keyboard.press("Enter")
    _wait_until(page, lambda: len(held) == 1, "the first request for the next image")
    page.keyboard.press("Enter")  # impatient: the first Accept & next is still under way
    page.wait_for_timeout(500)  # time for a second save and a second request, if any were made
    held.pop(0).continue_()
    _on_image(page, "b.png")
    canvas = page.get_by_test_id("annotation-canvas")
    stroke(page, canvas, [(5, 20), (30, 20)])
    corrected = _label_count(page, 1)
    assert corrected > 0
    while held:  # a stale second Accept & next would navigate again now
        held.pop(0).continue_()
    page.wait_for_timeout(500)
    assert page.url.endswith(f"#/annotate/{second['id']}")
    assert _label_count(page, 1) == corrected
    expect(page.get_by_test_id("dirty")).to_contain_text("unsaved")
    assert [v["version"] for v in _versions(admin, first["id"])] == [1]

    # Re-opening the page shown (what a late Accept & next did) asks first, like leaving it.
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.evaluate("() => window.maskloop.navigate(location.hash)")
    assert asked and "unsaved" in asked[0]
    assert _label_count(page, 1) == corrected


def test_ctrl_s_then_enter_saves_one_version_and_moves_on(
    logged_in: Page, admin: httpx.Client
) -> None:
    page = logged_in
    first, second = _two_images(admin)
    canvas = open_annotate(page, first["id"])
    expect(page.get_by_test_id("model-version")).to_have_text("no model yet")
    stroke(page, canvas, [(5, 5), (20, 5)])
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("status-message")).to_contain_text("Saved version 1")
    expect(page.get_by_test_id("model-version")).to_have_text("saved annotation v1")
    page.keyboard.press("Control+s")  # unchanged: no duplicate version either
    expect(page.get_by_test_id("status-message")).to_contain_text("Nothing to save")
    page.keyboard.press("Enter")
    _on_image(page, "b.png")
    assert [v["version"] for v in _versions(admin, first["id"])] == [1]

    # A polygon of two points is not drawn, and the page says why.
    page.get_by_test_id("tool-polygon").click()
    canvas = page.get_by_test_id("annotation-canvas")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status-message")).to_contain_text(
        "A polygon needs at least 3 points"
    )
    assert page.url.endswith(f"#/annotate/{second['id']}")


def test_session_ended_banner_shows_once_and_goes_after_signing_in_again(
    logged_in: Page, admin: httpx.Client
) -> None:
    page = logged_in
    image = upload(admin, _collection(admin), "a.png", gray_png(64, 48))
    canvas = open_annotate(page, image["id"])
    stroke(page, canvas, [(5, 5), (20, 5)])
    # Sign out in another tab: this tab's requests now answer 401, and it keeps its edits.
    other = page.context.new_page()
    other.goto("/")
    other.get_by_test_id("logout").click()
    expect(other.get_by_test_id("login-username")).to_be_visible()
    for _ in range(2):
        with page.expect_response(lambda r: r.request.method == "PUT") as refused:
            page.get_by_test_id("save").click()
        assert refused.value.status == 401
        expect(page.get_by_test_id("status-message")).to_contain_text("Not saved")
    expect(page.get_by_test_id("session-ended")).to_have_count(1)
    sign_in(other, "admin", ADMIN_PASSWORD)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("status-message")).to_contain_text("Saved version 1")
    expect(page.get_by_test_id("session-ended")).to_have_count(0)
    assert np.count_nonzero(stored_mask(admin, image["id"])) > 0
