"""The admin page drives the loop: start a training, watch it live, see the version, use it."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from backend.config import Settings
from tests.backend.loop.conftest import WorkerProcess, wait_idle
from tests.backend.loop.data import label_of, upload_discs
from tests.frontend.helpers import open_annotate, stroke

pytestmark = pytest.mark.browser


@pytest.fixture
def worker(settings: Settings) -> Iterator[WorkerProcess]:
    process = WorkerProcess(settings, "browser-tests")
    yield process
    process.stop()


def _labeled_collection(admin: httpx.Client) -> tuple[int, list[dict]]:
    r = admin.post(
        "/api/v1/collections",
        json={
            "name": "discs",
            "kind": "instance",
            "classes": [{"name": "nucleus", "color": "#34c759"}],
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = admin.patch(
        f"/api/v1/collections/{cid}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    if r.status_code in (404, 405):
        pytest.skip("the server has no loop endpoints (settings/jobs answered 404/405)")
    images = upload_discs(admin, cid, range(6))
    for image in images[:4]:
        r = admin.put(
            f"/api/v1/images/{image['id']}/annotation",
            files={"mask": ("m.png", label_of(image), "image/png")},
        )
        assert r.status_code == 200, r.text
    return cid, images


def test_training_progress_reaches_the_end_and_version_appears(
    logged_in: Page, admin: httpx.Client, worker: WorkerProcess, shot
) -> None:
    page = logged_in
    cid, images = _labeled_collection(admin)
    page.goto(f"/#/admin/{cid}")
    expect(page.get_by_test_id("models-table")).to_contain_text("No model yet")
    expect(page.get_by_test_id("worker-count")).to_have_text("1 worker polling", timeout=30_000)
    # Record every state any job bar shows, from before the click, to see that the bar moved
    # live (SSE), not only at the end.
    page.evaluate(
        """() => {
            window.seenProgress = [];
            const watch = () => document.querySelectorAll('[data-testid="job-progress"]')
              .forEach(el => window.seenProgress.push(
                `${el.dataset.jobId}:${el.dataset.status}:${el.getAttribute('aria-valuenow')}`));
            new MutationObserver(watch)
              .observe(document.body, {subtree: true, childList: true, attributes: true});
        }"""
    )
    page.get_by_test_id("train-steps").fill("12")
    # The first job request of a server process imports torch there (~5 s on this machine).
    with page.expect_response(
        lambda r: r.url.endswith(f"/collections/{cid}/jobs") and r.request.method == "POST",
        timeout=60_000,
    ) as posted:
        page.get_by_test_id("start-train").click()
    assert posted.value.status == 201
    job_bar = page.get_by_test_id("job-progress").first
    expect(job_bar).to_be_visible()
    job_id = job_bar.get_attribute("data-job-id")
    bar = page.locator(f'[data-testid="job-progress"][data-job-id="{job_id}"]')
    expect(bar).to_have_attribute("data-status", "succeeded", timeout=180_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    seen = [s for s in page.evaluate("window.seenProgress") if s.startswith(f"{job_id}:")]
    assert any(":queued:" in s or ":running:" in s for s in seen), seen
    row = page.locator('[data-testid="model-row"][data-version="1"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("model-status")).to_have_text("active")
    expect(row.get_by_test_id("model-merged")).to_be_visible()
    expect(page.get_by_test_id("loop-chart").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("loop-chart")).to_contain_text("work left vs. drawing from empty")
    shot()

    # The new version's proposal opens with the image, and accepting it records where it came from.
    wait_idle(admin, int(cid))
    model_id = int(row.get_attribute("data-model-id") or 0)
    target = images[-1]
    page.goto(f"/#/annotate/{target['id']}")
    expect(page.get_by_test_id("model-version")).to_contain_text("proposal from model v1")
    page.get_by_test_id("confidence").check()
    page.get_by_test_id("outline").check()
    page.get_by_test_id("opacity").fill("0.8")
    expect(page.get_by_test_id("confidence")).to_be_checked()  # unchecks itself when loading fails
    page.get_by_test_id("annotation-canvas").focus()
    shot("proposal")
    page.get_by_test_id("save-next").click()
    expect(page).not_to_have_url(re.compile(f"#/annotate/{target['id']}$"))
    latest = admin.get(f"/api/v1/images/{target['id']}/annotation/versions").json()["data"][-1]
    assert latest["proposal_model_id"] == model_id
    assert latest["source"] == "corrected_proposal"

    # "Load proposal" over a saved annotation, undone: the manual mask is back, and its save
    # credits no model; loaded and kept, it does.
    labeled = images[0]
    canvas = open_annotate(page, labeled["id"])
    badge, message = page.get_by_test_id("model-version"), page.get_by_test_id("status-message")
    expect(badge).to_have_text("saved annotation v1 · active model v1")
    page.get_by_test_id("load-proposal").click()
    expect(badge).to_have_text("proposal from model v1")
    canvas.focus()
    page.keyboard.press("Control+z")
    expect(badge).to_have_text("saved annotation v1 · active model v1")
    page.keyboard.press("Control+Shift+Z")
    expect(badge).to_have_text("proposal from model v1")
    page.keyboard.press("Control+z")
    stroke(page, canvas, [(2, 2), (8, 2)])
    page.keyboard.press("Control+s")
    expect(message).to_contain_text("Saved version 2")
    expect(badge).to_have_text("saved annotation v2 · active model v1")
    versions = admin.get(f"/api/v1/images/{labeled['id']}/annotation/versions").json()["data"]
    assert (versions[-1]["source"], versions[-1]["proposal_model_id"]) == ("manual", None)
    page.get_by_test_id("load-proposal").click()
    expect(badge).to_have_text("proposal from model v1")
    page.keyboard.press("Control+s")
    expect(message).to_contain_text("Saved version 3")
    expect(badge).to_have_text("saved annotation v3 · active model v1")
    versions = admin.get(f"/api/v1/images/{labeled['id']}/annotation/versions").json()["data"]
    assert (versions[-1]["source"], versions[-1]["proposal_model_id"]) == (
        "corrected_proposal",
        model_id,
    )

    # A retrain averages with the active version by default, and the table says with which.
    page.goto(f"/#/admin/{cid}")
    expect(page.get_by_test_id("train-ensemble")).to_be_checked()
    page.get_by_test_id("train-steps").fill("4")
    with page.expect_response(
        lambda r: r.url.endswith(f"/collections/{cid}/jobs") and r.request.method == "POST"
    ) as posted:
        page.get_by_test_id("start-train").click()
    assert posted.value.status == 201 and "ensemble" not in posted.value.json()["params"]
    second = page.locator('[data-testid="model-row"][data-version="2"]')
    expect(second).to_be_visible(timeout=180_000)
    expect(second.get_by_test_id("model-ensemble")).to_have_text("+ v1")
    expect(second.get_by_test_id("model-network")).to_have_text("· small")


def test_pretrain_can_be_cancelled_and_settings_saved(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid, _ = _labeled_collection(admin)  # no worker: the job stays queued until cancelled
    page.goto(f"/#/admin/{cid}")
    page.get_by_test_id("train-steps").fill("5000")
    page.get_by_test_id("pretrain-method").select_option("rotation")
    page.get_by_test_id("job-encoder").select_option("resnet18")
    with page.expect_response(
        lambda r: r.url.endswith(f"/collections/{cid}/jobs") and r.request.method == "POST",
        timeout=60_000,
    ):
        page.get_by_test_id("start-pretrain").click()
    bar = page.get_by_test_id("job-progress").first
    expect(bar).to_have_attribute("data-status", "queued")
    # No worker runs in this test: the page says why the job waits, and how to fix it.
    expect(page.get_by_test_id("worker-count")).to_have_text("0 workers polling")
    expect(page.get_by_test_id("worker-notice")).to_contain_text(
        "No worker is running", timeout=15_000
    )
    page.get_by_test_id("job-cancel").click()
    expect(bar).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_test_id("worker-notice")).to_be_empty(timeout=15_000)
    job = admin.get(f"/api/v1/collections/{cid}/jobs").json()["data"][0]
    assert (job["kind"], job["status"], job["params"]) == (
        "pretrain",
        "cancelled",
        {"steps": 5000, "method": "rotation", "encoder": "resnet18"},
    )
    # A training sends the encoder only when it starts from scratch: any other keeps the
    # network it starts from (and the server would refuse the encoder).
    for init, sent in (("", {"steps": 5000}), ("scratch", {"steps": 5000, "init": "scratch"})):
        page.get_by_test_id("train-init").select_option(init)
        with page.expect_response(
            lambda r: r.url.endswith(f"/collections/{cid}/jobs") and r.request.method == "POST"
        ) as posted:
            page.get_by_test_id("start-train").click()
        assert posted.value.status == 201, posted.value.text()
        train = posted.value.json()
        expected = {**sent, "encoder": "resnet18"} if init == "scratch" else sent
        assert train["params"] == expected
        # Cancelled at once, so no worker of a later test trains it.
        assert admin.post(f"/api/v1/jobs/{train['id']}/cancel").status_code == 200
    page.get_by_test_id("setting-retrain-every").fill("7")
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    assert admin.get(f"/api/v1/collections/{cid}/settings").json()["retrain_every"] == 7
    shot()


def test_jobs_started_elsewhere_appear_and_each_is_followed_once(
    logged_in: Page, admin: httpx.Client, shot
) -> None:
    page = logged_in
    cid, _ = _labeled_collection(admin)  # no worker: jobs stay queued until cancelled
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    page.goto(f"/#/admin/{cid}")
    expect(page.get_by_test_id("jobs-table")).to_contain_text("No job yet.")
    with page.expect_response(
        lambda r: r.url.endswith(f"/collections/{cid}/jobs") and r.request.method == "POST",
        timeout=60_000,
    ) as posted:
        page.get_by_test_id("start-pretrain").click()
    mine = posted.value.json()["id"]
    expect(page.get_by_text(f"pretrain job {mine} queued.")).to_be_visible()

    # Another admin (or a retrain after annotators' saves) starts a job: it shows up by itself.
    r = admin.post(f"/api/v1/collections/{cid}/jobs", json={"kind": "train", "params": {}})
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    bar = page.locator(f'[data-testid="job-progress"][data-job-id="{theirs}"]')
    expect(bar).to_have_attribute("data-status", "queued", timeout=15_000)
    page.wait_for_timeout(9_000)  # two more refreshes of the list
    for job in (mine, theirs):
        assert sum(url.endswith(f"/jobs/{job}/events") for url in streams) == 1, streams

    # Both end elsewhere: the rows follow, and the notice about the queued job goes.
    for job in (mine, theirs):
        assert admin.post(f"/api/v1/jobs/{job}/cancel").status_code == 200
    mine_bar = page.locator(f'[data-testid="job-progress"][data-job-id="{mine}"]')
    expect(mine_bar).to_have_attribute("data-status", "cancelled")
    expect(bar).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_text(f"pretrain job {mine} queued.")).to_have_count(0)
    shot()


def test_the_page_offers_the_pretexts_and_networks_the_server_accepts() -> None:
    from models.networks import ENCODERS
    from models.pretext import PRETEXTS

    source = (Path(__file__).parents[2] / "frontend" / "views" / "admin.js").read_text()

    def listed(name: str) -> set[str]:
        found = re.search(rf"^const {name} = \[([^\]]*)\];", source, re.MULTILINE)
        assert found, f"admin.js defines no {name}"
        return set(re.findall(r'"([^"]+)"', found.group(1)))

    assert listed("PRETEXTS") == set(PRETEXTS)
    assert listed("ENCODERS") == set(ENCODERS)
