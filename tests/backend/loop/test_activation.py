"""Activating a version queues a predict job while some image lacks its proposal: not when
every proposal is cached, and not a second one beside an open job for that version."""

import httpx
import pytest

from backend.config import Settings
from tests.backend.api.helpers import make_collection
from tests.backend.loop.data import upload_discs
from tests.backend.loop.versions import add_version


@pytest.fixture
def collection(admin: httpx.Client) -> dict:
    made = make_collection(admin, "activation")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    return made


def _predict_jobs(admin: httpx.Client, collection_id: int, model_id: int) -> list[dict]:
    jobs = admin.get(f"/api/v1/collections/{collection_id}/jobs").json()["data"]
    return [j for j in jobs if j["kind"] == "predict" and j["params"] == {"model_id": model_id}]


def _activate(admin: httpx.Client, model_id: int) -> None:
    r = admin.post(f"/api/v1/models/{model_id}/activate")
    assert r.status_code == 200 and r.json()["status"] == "active", r.text


def _cache_proposal(admin: httpx.Client, image_id: int, model_id: int) -> None:
    r = admin.get(f"/api/v1/images/{image_id}/prediction", params={"model": model_id})
    assert r.status_code == 200, r.text


def test_activation_predicts_while_some_proposal_is_missing(
    admin: httpx.Client, collection: dict, settings: Settings, checkpoint_bytes: bytes
) -> None:
    images = upload_discs(admin, collection["id"], range(3))
    model_id = add_version(settings, collection["id"], checkpoint_bytes, 1)
    _cache_proposal(admin, images[0]["id"], model_id)  # one on-demand proposal
    _activate(admin, model_id)
    [job] = _predict_jobs(admin, collection["id"], model_id)
    assert job["status"] == "queued"
    # Activating again while that job is queued adds no second one.
    _activate(admin, model_id)
    assert [j["id"] for j in _predict_jobs(admin, collection["id"], model_id)] == [job["id"]]
    # Once it is cancelled, two images still lack a proposal: the next activation queues one.
    assert admin.post(f"/api/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
    _activate(admin, model_id)
    statuses = [j["status"] for j in _predict_jobs(admin, collection["id"], model_id)]
    assert statuses == ["queued", "cancelled"]  # newest first


def test_activation_with_every_proposal_cached_queues_nothing(
    admin: httpx.Client, collection: dict, settings: Settings, checkpoint_bytes: bytes
) -> None:
    images = upload_discs(admin, collection["id"], range(2))
    model_id = add_version(settings, collection["id"], checkpoint_bytes, 1)
    for image in images:
        _cache_proposal(admin, image["id"], model_id)
    _activate(admin, model_id)
    assert admin.get(f"/api/v1/collections/{collection['id']}/jobs").json()["count"] == 0
    # The cached proposals show at once.
    for image in images:
        assert admin.get(f"/api/v1/images/{image['id']}").json()["status"] == "proposed"
