"""Automatic pretraining and retraining: thresholds, debouncing, one training at a time."""

from collections.abc import Callable

import httpx
import pytest

from tests.backend.api.helpers import make_collection, put_mask
from tests.backend.loop.conftest import WorkerProcess, wait_idle, wait_job
from tests.backend.loop.data import label_of, upload_discs


def _collection(
    admin: httpx.Client, pretrain_at: int, retrain_every: int, name: str = "auto"
) -> dict:
    made = make_collection(admin, name)
    r = admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"auto_pretrain_min_images": pretrain_at, "retrain_every": retrain_every},
    )
    assert r.status_code == 200
    return made


def _jobs(admin: httpx.Client, cid: int) -> list[dict]:
    return admin.get(f"/api/v1/collections/{cid}/jobs").json()["data"]


def test_pretrain_starts_once_the_collection_has_enough_images(admin: httpx.Client) -> None:
    collection = _collection(admin, pretrain_at=3, retrain_every=0)
    upload_discs(admin, collection["id"], range(2))
    assert _jobs(admin, collection["id"]) == []
    upload_discs(admin, collection["id"], range(2, 4))
    jobs = _jobs(admin, collection["id"])
    assert [(j["kind"], j["status"]) for j in jobs] == [("pretrain", "queued")]
    assert jobs[0]["trigger"].startswith("auto")
    upload_discs(admin, collection["id"], range(4, 6))
    assert len(_jobs(admin, collection["id"])) == 1, "pretraining is not triggered twice"


def test_zero_turns_automatic_pretraining_off(admin: httpx.Client) -> None:
    collection = _collection(admin, pretrain_at=0, retrain_every=0)
    upload_discs(admin, collection["id"], range(5))
    assert _jobs(admin, collection["id"]) == []


def test_retrain_after_every_m_annotations(admin: httpx.Client) -> None:
    collection = _collection(admin, pretrain_at=0, retrain_every=2)
    images = upload_discs(admin, collection["id"], range(4))
    put_mask(admin, images[0]["id"], label_of(images[0]))
    assert _jobs(admin, collection["id"]) == []
    put_mask(admin, images[1]["id"], label_of(images[1]))
    jobs = _jobs(admin, collection["id"])
    assert [(j["kind"], j["status"]) for j in jobs] == [("train", "queued")]
    assert "2 new annotations" in jobs[0]["trigger"]


def test_trigger_during_training_is_remembered_not_duplicated(admin: httpx.Client) -> None:
    collection = _collection(admin, pretrain_at=0, retrain_every=1)
    images = upload_discs(admin, collection["id"], range(4))
    put_mask(admin, images[0]["id"], label_of(images[0]))
    put_mask(admin, images[1]["id"], label_of(images[1]))
    put_mask(admin, images[2]["id"], label_of(images[2]))
    trains = [j for j in _jobs(admin, collection["id"]) if j["kind"] == "train"]
    assert len(trains) == 1, "a queued training absorbs later triggers"


@pytest.mark.slow
def test_pending_retrain_runs_after_the_current_one_ends(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection = _collection(admin, pretrain_at=0, retrain_every=2)
    images = upload_discs(admin, collection["id"], range(6))
    put_mask(admin, images[0]["id"], label_of(images[0]))
    r = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 30}},
    )
    job = r.json()
    # The follow-up training is automatic, so it runs the default budget: 3 s, not 3 min.
    start_worker(extra={"MASKLOOP_TRAIN_MINUTES": "0.05"})
    wait_job(admin, job["id"], until=("running",))
    # Two annotations while it runs: the running training is not killed, a new one waits.
    put_mask(admin, images[1]["id"], label_of(images[1]))
    put_mask(admin, images[2]["id"], label_of(images[2]))
    trains = [j for j in _jobs(admin, collection["id"]) if j["kind"] == "train"]
    assert [j["status"] for j in trains] == ["running"]
    assert wait_job(admin, job["id"])["status"] == "succeeded"
    jobs = wait_idle(admin, collection["id"])
    trains = [j for j in jobs if j["kind"] == "train"]
    assert len(trains) == 2
    assert "during the last training" in trains[0]["trigger"]
    # Never two trainings of one collection at once.
    first, second = trains[1], trains[0]
    assert second["started_at"] >= first["finished_at"]


@pytest.mark.slow
def test_a_finished_pretraining_trains_only_where_automatic_retraining_is_on(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Both collections hold labels (fewer than ``retrain_every``) when their encoder arrives."""
    pretrains = {}
    for every in (0, 5):
        collection = _collection(admin, 0, every, name=f"retrain every {every}")
        for image in upload_discs(admin, collection["id"], range(4))[:2]:
            assert put_mask(admin, image["id"], label_of(image)).status_code == 200
        r = admin.post(
            f"/api/v1/collections/{collection['id']}/jobs",
            json={"kind": "pretrain", "params": {"steps": 3}},
        )
        assert r.status_code == 201, r.text
        pretrains[every] = (collection["id"], r.json()["id"])
    start_worker()
    for _, job_id in pretrains.values():
        assert wait_job(admin, job_id)["status"] == "succeeded"
    off, on = pretrains[0][0], pretrains[5][0]
    automatic = [j for j in _jobs(admin, on) if j["kind"] == "train"]
    assert [j["trigger"] for j in automatic] == ["after pretraining"]
    # Not needed here: cancelled, so that it does not run the default 3-minute budget.
    admin.post(f"/api/v1/jobs/{automatic[0]['id']}/cancel")
    wait_idle(admin, on)
    assert [j["kind"] for j in wait_idle(admin, off)] == ["pretrain"]
