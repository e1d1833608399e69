"""Job endpoints without a worker: validation, queueing, cancelling, roles."""

import threading
from collections.abc import Callable

import httpx
import pytest

from backend.config import Settings
from tests.backend.api.helpers import make_collection, put_mask
from tests.backend.loop.data import label_of, upload_discs


@pytest.fixture
def collection(admin: httpx.Client) -> dict:
    made = make_collection(admin, "jobs")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    return made


def _start(admin: httpx.Client, cid: int, body: dict) -> httpx.Response:
    return admin.post(f"/api/v1/collections/{cid}/jobs", json=body)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "dance"}, "kind"),
        ({"kind": "pretrain", "params": {"steps": -5}}, "steps"),
        ({"kind": "pretrain", "params": {"minutes": 0}}, "minutes"),
        ({"kind": "pretrain", "params": {"method": "jigsaw-deluxe"}}, "unknown pretext"),
        ({"kind": "pretrain", "params": {"init": "ssl"}}, "do not take init"),
        ({"kind": "train", "params": {"bogus": 1}}, "bogus"),
        ({"kind": "train", "params": {"encoder": "vit-huge"}}, "unknown encoder"),
        ({"kind": "pretrain", "params": {"encoder": "vit-huge"}}, "unknown encoder"),
        ({"kind": "train", "params": {"ensemble": "yes"}}, "ensemble"),
        ({"kind": "train", "params": {"steps": True}}, "steps"),
        ({"kind": "train", "params": {"steps": "5"}}, "steps"),
        ({"kind": "pretrain", "params": {"ensemble": True}}, "do not take ensemble"),
        ({"kind": "predict", "params": {"minutes": 1}}, "do not take minutes"),
        ({"kind": "train", "params": {"lr": 1e300}}, "lr"),
        ({"kind": "pretrain", "params": {"method": "m" * 100_000}}, "method"),
    ],
)
def test_bad_job_request_is_422_and_queues_nothing(
    body: dict, words: str, admin: httpx.Client, collection: dict, settings: Settings
) -> None:
    upload_discs(admin, collection["id"], range(2))
    before = admin.get(f"/api/v1/collections/{collection['id']}/jobs").json()["count"]
    r = _start(admin, collection["id"], body)
    assert r.status_code == 422, r.text[:300]
    assert words in r.text and len(r.text) < 2000  # a long input is not echoed back
    assert admin.get(f"/api/v1/collections/{collection['id']}/jobs").json()["count"] == before


def test_train_without_labeled_images_is_422(admin: httpx.Client, collection: dict) -> None:
    upload_discs(admin, collection["id"], range(2))
    r = _start(admin, collection["id"], {"kind": "train"})
    assert r.status_code == 422
    assert "no labeled images" in r.json()["detail"]


def test_train_from_ssl_without_pretraining_is_422(admin: httpx.Client, collection: dict) -> None:
    image = upload_discs(admin, collection["id"], range(1))[0]
    put_mask(admin, image["id"], label_of(image))
    r = _start(admin, collection["id"], {"kind": "train", "params": {"init": "ssl"}})
    assert r.status_code == 422 and "pretrain" in r.json()["detail"]


def test_train_from_previous_without_model_is_422(admin: httpx.Client, collection: dict) -> None:
    image = upload_discs(admin, collection["id"], range(1))[0]
    put_mask(admin, image["id"], label_of(image))
    r = _start(admin, collection["id"], {"kind": "train", "params": {"init": "previous"}})
    assert r.status_code == 422 and "active model" in r.json()["detail"]


def test_predict_without_model_is_422(admin: httpx.Client, collection: dict) -> None:
    upload_discs(admin, collection["id"], range(1))
    r = _start(admin, collection["id"], {"kind": "predict"})
    assert r.status_code == 422 and "train one first" in r.json()["detail"]


def test_pretrain_empty_collection_is_422(admin: httpx.Client, collection: dict) -> None:
    r = _start(admin, collection["id"], {"kind": "pretrain"})
    assert r.status_code == 422 and "upload" in r.json()["detail"]


def test_job_for_unknown_collection_is_404(admin: httpx.Client) -> None:
    assert _start(admin, 999, {"kind": "pretrain"}).status_code == 404


def test_queued_job_is_listed_and_cancelled(admin: httpx.Client, collection: dict) -> None:
    upload_discs(admin, collection["id"], range(2))
    job = _start(
        admin, collection["id"], {"kind": "pretrain", "params": {"steps": 5, "method": "denoise"}}
    )
    assert job.status_code == 201
    body = job.json()
    assert body["status"] == "queued" and body["params"] == {"steps": 5, "method": "denoise"}
    listed = admin.get(f"/api/v1/collections/{collection['id']}/jobs").json()
    assert listed["data"][0]["id"] == body["id"]
    cancelled = admin.post(f"/api/v1/jobs/{body['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    again = admin.post(f"/api/v1/jobs/{body['id']}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]


def test_a_training_an_admin_starts_replaces_a_queued_automatic_one(
    admin: httpx.Client, collection: dict
) -> None:
    cid = collection["id"]
    admin.patch(f"/api/v1/collections/{cid}/settings", json={"retrain_every": 1})
    image = upload_discs(admin, cid, range(1))[0]
    assert put_mask(admin, image["id"], label_of(image)).status_code == 200
    automatic = admin.get(f"/api/v1/collections/{cid}/jobs").json()["data"]
    assert [(j["kind"], j["status"], j["trigger"]) for j in automatic] == [
        ("train", "queued", "auto: 1 new annotations")
    ]
    mine = _start(admin, cid, {"kind": "train", "params": {"steps": 7}})
    assert mine.status_code == 201, mine.text
    replaced = admin.get(f"/api/v1/jobs/{automatic[0]['id']}").json()
    assert replaced["status"] == "cancelled" and replaced["finished_at"]
    assert f"replaced by job {mine.json()['id']}" in replaced["log_tail"]
    # A second training an admin starts queues behind the first instead of replacing it.
    theirs = _start(admin, cid, {"kind": "train", "params": {"steps": 9}})
    assert theirs.status_code == 201, theirs.text
    listed = admin.get(f"/api/v1/collections/{cid}/jobs").json()["data"]
    assert [(j["id"], j["status"]) for j in listed[:2]] == [
        (theirs.json()["id"], "queued"),
        (mine.json()["id"], "queued"),
    ]
    for job in (mine, theirs):  # so that no worker of a later test trains them
        assert admin.post(f"/api/v1/jobs/{job.json()['id']}/cancel").status_code == 200


def test_unknown_job_is_404(admin: httpx.Client) -> None:
    assert admin.get("/api/v1/jobs/12345").status_code == 404
    assert admin.post("/api/v1/jobs/12345/cancel").status_code == 404
    assert admin.get("/api/v1/jobs/12345/events").status_code == 404


# More than any test server's pool holds: SQLite's QueuePool 5 + 10 overflow, PostgreSQL's
# 10 + 20 (backend.db.make_engine).
_STREAMS = 35


def _hold_stream(
    admin: httpx.Client,
    job_id: int,
    statuses: list[int],
    opened: threading.Semaphore,
    release: threading.Event,
) -> None:
    """Open the job's event stream, record its status, keep it open until ``release``."""
    try:
        with admin.stream("GET", f"/api/v1/jobs/{job_id}/events", timeout=60) as response:
            statuses.append(response.status_code)
            opened.release()
            release.wait(60)
    except httpx.HTTPError:
        statuses.append(-1)
        opened.release()


def test_open_event_streams_hold_no_database_connection(
    admin: httpx.Client, collection: dict
) -> None:
    """An open stream polls with a connection of its own, so dozens of them leave the pool to
    other requests (they used to keep the request's session, and the pool ran dry)."""
    upload_discs(admin, collection["id"], range(1))
    job = _start(admin, collection["id"], {"kind": "pretrain"}).json()  # queued: no worker runs
    statuses: list[int] = []
    opened = threading.Semaphore(0)
    release = threading.Event()
    threads = [
        threading.Thread(target=_hold_stream, args=(admin, job["id"], statuses, opened, release))
        for _ in range(_STREAMS)
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in threads:
            assert opened.acquire(timeout=60), f"streams answered so far: {statuses}"
        r = admin.get(f"/api/v1/jobs/{job['id']}", timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "queued"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert statuses == [200] * _STREAMS


@pytest.mark.parametrize("role", ["viewer", "annotator"])
def test_only_admins_start_and_cancel_jobs(
    role: str, admin: httpx.Client, collection: dict, user_client: Callable[[str], httpx.Client]
) -> None:
    upload_discs(admin, collection["id"], range(1))
    other = user_client(role)
    assert _start(other, collection["id"], {"kind": "pretrain"}).status_code == 403
    job = _start(admin, collection["id"], {"kind": "pretrain"}).json()
    assert other.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 403
    assert other.get(f"/api/v1/jobs/{job['id']}").status_code == 200
    assert other.get(f"/api/v1/collections/{collection['id']}/jobs").status_code == 200
    assert other.get(f"/api/v1/collections/{collection['id']}/settings").status_code == 403
    assert (
        other.patch(
            f"/api/v1/collections/{collection['id']}/settings", json={"retrain_every": 1}
        ).status_code
        == 403
    )


def test_unknown_model_is_404(admin: httpx.Client) -> None:
    assert admin.get("/api/v1/models/77").status_code == 404
    assert admin.post("/api/v1/models/77/activate").status_code == 404
    assert admin.get("/api/v1/models/77/checkpoint").status_code == 404


def test_prediction_without_model_is_404_with_message(
    admin: httpx.Client, collection: dict
) -> None:
    image = upload_discs(admin, collection["id"], range(1))[0]
    r = admin.get(f"/api/v1/images/{image['id']}/prediction")
    assert r.status_code == 404 and "no active model" in r.json()["detail"]
    assert admin.get(f"/api/v1/images/{image['id']}/confidence").status_code == 404
    assert (
        admin.get(f"/api/v1/images/{image['id']}/prediction", params={"format": "gif"}).status_code
        == 422
    )


@pytest.mark.parametrize(
    "body",
    [
        {"retrain_every": -1},
        {"auto_pretrain_min_images": "many"},
        {"retrain_every": 2, "colour": "blue"},
        {"retrain_every": True},  # not 1: a JSON boolean is no count
        {"auto_pretrain_min_images": "20"},
    ],
)
def test_bad_settings_are_422_and_change_nothing(
    admin: httpx.Client, collection: dict, body: dict, settings: Settings
) -> None:
    before = admin.get(f"/api/v1/collections/{collection['id']}/settings").json()
    r = admin.patch(f"/api/v1/collections/{collection['id']}/settings", json=body)
    assert r.status_code == 422
    assert admin.get(f"/api/v1/collections/{collection['id']}/settings").json() == before


def test_settings_round_trip(admin: httpx.Client, collection: dict) -> None:
    r = admin.patch(f"/api/v1/collections/{collection['id']}/settings", json={"retrain_every": 7})
    assert r.json() == {"auto_pretrain_min_images": 0, "retrain_every": 7}
    assert (
        admin.get(f"/api/v1/collections/{collection['id']}/settings").json()["retrain_every"] == 7
    )


def test_new_collection_has_default_loop_settings(admin: httpx.Client) -> None:
    made = make_collection(admin, "fresh")
    assert admin.get(f"/api/v1/collections/{made['id']}/settings").json() == {
        "auto_pretrain_min_images": 20,
        "retrain_every": 5,
    }
