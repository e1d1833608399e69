"""What each role sees: viewers read only, annotators annotate but do not administer."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.frontend.conftest import sign_in
from tests.frontend.helpers import gray_png, open_annotate, stroke, upload

pytestmark = pytest.mark.browser


@pytest.fixture
def collection(admin: httpx.Client) -> tuple[int, int]:
    r = admin.post(
        "/api/v1/collections",
        json={
            "name": "shared",
            "kind": "semantic",
            "classes": [{"name": "nucleus", "color": "#ff3b30"}],
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    return cid, upload(admin, cid, "a.png", gray_png())["id"]


def _user(admin: httpx.Client, role: str) -> str:
    r = admin.post(
        "/api/v1/users", json={"username": role + "1", "password": "password-123", "role": role}
    )
    assert r.status_code == 201, r.text
    return role + "1"


def test_wrong_password_shows_the_server_message(page: Page, live_server, errors) -> None:
    page.goto("/")
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill("wrong")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()


def test_viewer_sees_read_only_pages(
    page: Page, admin: httpx.Client, collection, errors, shot
) -> None:
    cid, image_id = collection
    sign_in(page, _user(admin, "viewer"), "password-123")
    expect(page.get_by_test_id("collections-table")).to_contain_text("shared")
    expect(page.get_by_test_id("collection-name")).to_have_count(0)
    expect(page.get_by_test_id("upload-input")).to_have_count(0)
    page.goto(f"/#/collections/{cid}")
    expect(page.get_by_test_id("thumb-grid").locator(".thumb")).to_have_count(1)
    expect(page.get_by_test_id("annotate-next")).to_have_count(0)
    expect(page.get_by_test_id("open-admin")).to_have_count(0)
    canvas = open_annotate(page, image_id)
    for hook in ("tool-brush", "tool-eraser", "save-next", "undo"):
        expect(page.get_by_test_id(hook)).to_have_count(0)
    stroke(page, canvas, [(5, 5), (20, 5)])
    assert page.evaluate("window.maskloopEditor.mask.data.some(v => v !== 0)") is False
    shot()


def test_annotator_annotates_but_sees_no_admin_controls(
    page: Page, admin: httpx.Client, collection, errors, shot
) -> None:
    cid, image_id = collection
    sign_in(page, _user(admin, "annotator"), "password-123")
    expect(page.get_by_test_id("collections-table")).to_contain_text("shared")
    expect(page.get_by_test_id("collections-table").get_by_text("Admin")).to_have_count(0)
    page.goto(f"/#/collections/{cid}")
    expect(page.get_by_test_id("annotate-next")).to_be_visible()
    expect(page.get_by_test_id("open-admin")).to_have_count(0)
    expect(page.get_by_test_id("labeling-progress")).to_have_attribute("aria-valuenow", "0")
    shot("collection")
    page.get_by_test_id("annotate-next").click()
    expect(page).to_have_url(f"{page.url.split('#')[0]}#/annotate/{image_id}")
    expect(page.get_by_test_id("tool-brush")).to_be_visible()
    page.goto(f"/#/admin/{cid}")
    expect(page.get_by_text("Only admins")).to_be_visible()
    expect(page.get_by_test_id("start-train")).to_have_count(0)
