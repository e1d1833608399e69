"""The loop end to end with a real worker process: train, promote, propose, correct, roll back."""

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, text

from backend.config import Settings
from backend.loop.data import in_validation_bucket
from tests.backend.api.helpers import make_collection, put_mask, upload
from tests.backend.factories import decode_png, png_bytes, tiff_bytes
from tests.backend.loop.conftest import WorkerProcess, wait_idle, wait_job
from tests.backend.loop.data import discs, label_of, upload_discs

pytestmark = pytest.mark.slow
FAST = {"steps": 12}


def _labeled_collection(
    admin: httpx.Client, n_images: int = 6, n_labeled: int = 4
) -> tuple[dict, list[dict]]:
    collection = make_collection(admin, "discs")
    admin.patch(
        f"/api/v1/collections/{collection['id']}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    images = upload_discs(admin, collection["id"], range(n_images))
    for image in images[:n_labeled]:
        assert put_mask(admin, image["id"], label_of(image)).status_code == 200
    return collection, images


def _trained_collection(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], n_images: int = 6
) -> tuple[dict, list[dict]]:
    """A labeled collection (4 masks) with one version trained and its proposals computed."""
    collection, images = _labeled_collection(admin, n_images=n_images)
    start_worker()
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
    )
    wait_job(admin, job.json()["id"])
    wait_idle(admin, collection["id"])
    return collection, images


def test_train_job_creates_active_version_and_proposals(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, images = _labeled_collection(admin)
    start_worker()
    r = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
    )
    assert r.status_code == 201, r.text
    job = wait_job(admin, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["metrics"]["loss"]
    models = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"]
    assert [m["status"] for m in models] == ["active"]
    model = models[0]
    assert model["init"] == "scratch" and model["train_images"] + model["val_images"] == 4
    want = {"dice", "iou", "object_f1", "objects_merged"}  # instance: merges on the model card
    assert model["val_images"] >= 1 and set(model["metrics"]) >= want
    # The promotion enqueues a predict job that fills the proposal cache.
    jobs = wait_idle(admin, collection["id"])
    assert any(j["kind"] == "predict" and j["status"] == "succeeded" for j in jobs)
    unlabeled = images[-1]
    assert admin.get(f"/api/v1/images/{unlabeled['id']}").json()["status"] == "proposed"
    prediction = admin.get(f"/api/v1/images/{unlabeled['id']}/prediction")
    assert prediction.status_code == 200 and prediction.headers["x-model-id"] == str(model["id"])
    labels = decode_png(prediction.content)
    assert labels.shape == (64, 64)
    confidence = decode_png(admin.get(f"/api/v1/images/{unlabeled['id']}/confidence").content)
    assert confidence.dtype == np.uint8 and confidence.shape == (64, 64)
    as_json = admin.get(
        f"/api/v1/images/{unlabeled['id']}/prediction", params={"format": "json"}
    ).json()
    assert as_json["model_id"] == model["id"] and as_json["width"] == 64
    assert all(
        {"id", "class", "area", "bbox", "mean_confidence"} <= set(o) for o in as_json["objects"]
    )


def test_second_training_is_compared_on_same_validation_images(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _images = _labeled_collection(admin)
    start_worker()
    first = wait_job(
        admin,
        admin.post(
            f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
        ).json()["id"],
    )
    assert first["status"] == "succeeded"
    wait_idle(admin, collection["id"])
    second = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 2, "init": "scratch"}},
    ).json()
    assert wait_job(admin, second["id"])["status"] == "succeeded"
    wait_idle(admin, collection["id"])
    models = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"]
    newest, oldest = models[0], models[-1]
    assert newest["version"] == 2
    assert newest["val_annotation_ids"] == oldest["val_annotation_ids"]
    assert newest["baseline_metrics"] is not None
    statuses = {m["status"] for m in models}
    assert statuses in ({"active", "rejected"}, {"active", "archived"})
    assert newest["reason"]
    if newest["status"] == "rejected":
        assert models[-1]["status"] == "active" and "<" in newest["reason"]


def _checkpoint(admin: httpx.Client, model_id: int, tmp_path: Path):  # type: ignore[no-untyped-def]
    from models import Checkpoint

    path = tmp_path / f"{model_id}.pt"
    path.write_bytes(admin.get(f"/api/v1/models/{model_id}/checkpoint").content)
    return Checkpoint.load(path)


def test_a_retrain_averages_with_the_active_versions_network(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    from models import predict

    collection, images = _labeled_collection(admin)
    start_worker()

    def trained(params: dict) -> dict:
        job = admin.post(
            f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": params}
        ).json()
        finished = wait_job(admin, job["id"])
        assert finished["status"] == "succeeded", finished
        wait_idle(admin, collection["id"])
        return admin.get(f"/api/v1/models/{finished['model_id']}").json() | {"job": finished}

    first = trained(FAST)
    assert first["ensemble_with_ids"] == []  # nothing to average with yet
    second = trained({"steps": 4, "init": "scratch"})
    assert second["ensemble_with_ids"] == [first["id"]]
    assert "averaged with 1 earlier network(s)" in second["job"]["log_tail"]
    download = admin.get(f"/api/v1/models/{second['id']}/checkpoint")
    assert download.headers["x-ensemble-with"] == str(first["id"])
    # Its proposals are the mean of both networks, as `maskloop predict --model a --model b`.
    members = [_checkpoint(admin, m["id"], tmp_path) for m in (second, first)]
    image = images[-1]
    served = admin.get(f"/api/v1/images/{image['id']}/prediction", params={"model": second["id"]})
    assert served.headers["x-model-id"] == str(second["id"])
    seed = int(image["filename"][1:].split(".")[0])
    expected = predict(members, discs(seed)[0], device="cpu").labels
    got = decode_png(served.content)
    # Same objects; a pixel may flip where the worker's threads round differently.
    assert got.max() == expected.max() and ((got > 0) == (expected > 0)).mean() > 0.999
    # Opting out: the next version predicts with its own network alone.
    third = trained({"steps": 4, "init": "scratch", "ensemble": False})
    assert third["ensemble_with_ids"] == []
    assert "x-ensemble-with" not in admin.get(f"/api/v1/models/{third['id']}/checkpoint").headers


def test_rollback_activates_an_older_version_and_checkpoint_downloads(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _ = _labeled_collection(admin)
    start_worker()
    for _ in range(2):
        job = admin.post(
            f"/api/v1/collections/{collection['id']}/jobs",
            json={"kind": "train", "params": {"steps": 4, "init": "scratch"}},
        ).json()
        wait_job(admin, job["id"])
        wait_idle(admin, collection["id"])
    models = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"]
    inactive = next(m for m in models if m["status"] != "active")
    r = admin.post(f"/api/v1/models/{inactive['id']}/activate")
    assert r.status_code == 200 and r.json()["status"] == "active"
    statuses = [
        m["status"]
        for m in admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"]
    ]
    assert statuses.count("active") == 1
    checkpoint = admin.get(f"/api/v1/models/{inactive['id']}/checkpoint")
    assert checkpoint.status_code == 200
    from models import Checkpoint

    path = io.BytesIO(checkpoint.content)
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pt") as handle:
        handle.write(path.getvalue())
        handle.flush()
        loaded = Checkpoint.load(handle.name)
    assert loaded.config["kind"] == "instance"
    # The service's recipe: last weights of a cosine-decayed run (validation only gates), and
    # every labeled image an equal share of the training crops.
    recipe = loaded.config["hyperparameters"]
    assert (recipe["schedule"], recipe["keep"], recipe["sampling"]) == ("cosine", "last", "image")


def test_a_version_trained_from_an_encoder_keeps_the_network_the_pretraining_chose(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    collection, _ = _labeled_collection(admin)
    jobs = f"/api/v1/collections/{collection['id']}/jobs"
    params = {"steps": 3, "encoder": "resnet18"}
    started = admin.post(jobs, json={"kind": "pretrain", "params": params})
    assert started.status_code == 201, started.text
    # Queued behind the pretraining: its init is resolved when it runs, so it is the new encoder.
    queued = admin.post(jobs, json={"kind": "train", "params": FAST}).json()
    start_worker()
    pretrained = wait_job(admin, started.json()["id"])
    assert pretrained["status"] == "succeeded", pretrained
    job = wait_job(admin, queued["id"])
    assert job["status"] == "succeeded", job
    model = admin.get(f"/api/v1/models/{job['model_id']}").json()
    assert model["init"] == "ssl" and model["encoder_id"] == pretrained["encoder_id"]
    assert model["network"] == "resnet18"
    path = tmp_path / "model.pt"
    path.write_bytes(admin.get(f"/api/v1/models/{job['model_id']}/checkpoint").content)
    from models import Checkpoint

    assert Checkpoint.load(path).config["encoder"] == "resnet18"
    assert [j["kind"] for j in wait_idle(admin, collection["id"])].count("train") == 1
    # Another network for a training that starts from this encoder is refused, not ignored.
    refused = admin.post(jobs, json={"kind": "train", "params": {"encoder": "small"}})
    assert refused.status_code == 422 and "from scratch" in refused.json()["detail"]
    scratch = {"encoder": "small", "init": "scratch", **FAST}
    again = admin.post(jobs, json={"kind": "train", "params": scratch})
    assert again.status_code == 201
    trained = wait_job(admin, again.json()["id"])
    assert trained["status"] == "succeeded", trained
    assert admin.get(f"/api/v1/models/{trained['model_id']}").json()["network"] == "small"
    wait_idle(admin, collection["id"])


def test_corrections_are_recorded_and_stats_report_them(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, images = _trained_collection(admin, start_worker)
    target = images[-1]
    served = admin.get(f"/api/v1/images/{target['id']}/prediction")
    model_id = served.headers["x-model-id"]
    before = admin.get(f"/api/v1/collections/{collection['id']}/stats").json()["data"]
    untouched = next(s for s in before if s["model_id"] == int(model_id))
    assert (untouched["corrections"], untouched["objects_proposed"]) == (0, 0)
    assert untouched["pixel_work_ratio"] is None and untouched["mean_seconds_spent"] is None
    r = put_mask(
        admin, target["id"], label_of(target), proposal_model_id=model_id, seconds_spent="30"
    )
    assert r.status_code == 200 and r.json()["source"] == "corrected_proposal"
    stats = admin.get(f"/api/v1/collections/{collection['id']}/stats").json()
    row = next(s for s in stats["data"] if s["model_id"] == int(model_id))
    assert row["corrections"] == 1
    # The work left is weighed against drawing the same mask from an empty one.
    proposal, truth = decode_png(served.content) > 0, decode_png(label_of(target)) > 0
    changed, drawn = (proposal != truth).mean(), truth.mean()
    assert row["mean_corrected_fraction"] == pytest.approx(changed, abs=1e-5)
    assert row["mean_empty_start_fraction"] == pytest.approx(drawn, abs=1e-5)
    assert row["pixel_work_ratio"] == pytest.approx(changed / drawn, abs=1e-4)
    assert row["proposals_worse_than_empty"] == int(changed > drawn)
    assert row["objects_proposed"] >= 0 and row["mean_seconds_spent"] == 30
    assert row["val_dice"] is not None and row["labeled_images"] == 4
    assert stats["labeled_images"] == 5


def test_uncertainty_strategy_serves_least_certain_unlabeled_image(
    admin: httpx.Client,
    start_worker: Callable[..., WorkerProcess],
    user_client,  # type: ignore[no-untyped-def]
) -> None:
    collection, images = _trained_collection(admin, start_worker, n_images=7)
    annotator = user_client("annotator")
    served = annotator.get(f"/api/v1/collections/{collection['id']}/next").json()
    assert served["strategy"] == "uncertainty" and served["uncertainty"] is not None
    unlabeled = [i["id"] for i in images[4:]]
    assert served["id"] in unlabeled
    # Validation images (a fixed hash) are served only as random draws; the rest by uncertainty.
    validates = {i: in_validation_bucket(collection["id"], i) for i in unlabeled}
    assert served["validation"] == validates[served["id"]]
    if not served["validation"]:
        scores = {
            i: admin.get(f"/api/v1/images/{i}/prediction", params={"format": "json"}).json()[
                "uncertainty"
            ]
            for i in unlabeled
            if not validates[i]
        }
        assert scores[served["id"]] == pytest.approx(max(scores.values()))
    diverse = user_client("annotator").get(
        f"/api/v1/collections/{collection['id']}/next", params={"strategy": "diverse"}
    )
    assert diverse.status_code == 200 and diverse.json()["id"] != served["id"]


def test_events_stream_progress_then_end(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _ = _labeled_collection(admin)
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
    ).json()
    start_worker()
    events: list[tuple[str, dict]] = []
    with admin.stream("GET", f"/api/v1/jobs/{job['id']}/events", timeout=240) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name == "end":
                    break
    kinds = [n for n, _ in events]
    assert kinds[0] == "progress" and kinds[-1] == "end"
    assert events[-1][1]["status"] == "succeeded"
    fractions = [d["progress"] for n, d in events if n == "progress"]
    assert fractions == sorted(fractions)


def test_cancel_running_training_registers_nothing(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _ = _labeled_collection(admin)
    start_worker()
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"minutes": 5}},
    ).json()
    wait_job(admin, job["id"], until=("running",))
    time.sleep(1.0)
    assert admin.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    ended = wait_job(admin, job["id"], timeout=60)
    assert ended["status"] == "cancelled"
    assert admin.get(f"/api/v1/collections/{collection['id']}/models").json()["count"] == 0


def test_a_model_cannot_serve_or_be_activated_for_another_collection(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _ = _labeled_collection(admin)
    start_worker()
    wait_job(
        admin,
        admin.post(
            f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
        ).json()["id"],
    )
    model = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"][0]
    other = make_collection(admin, "other")
    image = upload_discs(admin, other["id"], range(20, 21))[0]
    r = admin.get(f"/api/v1/images/{image['id']}/prediction", params={"model": model["id"]})
    assert r.status_code == 422 and "belongs to collection" in r.json()["detail"]
    r = admin.post(f"/api/v1/models/{model['id']}/activate", json={"collection_id": other["id"]})
    assert r.status_code == 422 and "belongs to collection" in r.json()["detail"]
    r = put_mask(admin, image["id"], label_of(image), proposal_model_id=str(model["id"]))
    assert r.status_code == 422 and "not a model version of collection" in r.json()["detail"]
    job = admin.get(f"/api/v1/jobs/{model['job_id']}").json()
    assert job["created_by"] == "admin"


def test_semantic_training_matches_class_shares_on_unlabeled_images_only(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    collection = make_collection(admin, "discs (semantic)", kind="semantic")
    admin.patch(
        f"/api/v1/collections/{collection['id']}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    images = upload_discs(admin, collection["id"], range(7))
    for image in images[:4]:
        seed = int(image["filename"][1:].split(".")[0])
        semantic = (discs(seed)[1] > 0).astype(np.uint8)
        assert put_mask(admin, image["id"], png_bytes(semantic)).status_code == 200
    held_out = admin.patch(f"/api/v1/images/{images[-1]['id']}", json={"holdout": True})
    assert held_out.status_code == 200, held_out.text
    start_worker()
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "train", "params": FAST}
    ).json()
    finished = wait_job(admin, job["id"])
    assert finished["status"] == "succeeded", finished
    # Two unlabeled images: the labeled four and the held-out (test) one are not looked at.
    assert "matched on 2 unlabeled images" in finished["log_tail"]
    model = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"][0]
    path = tmp_path / "model.pt"
    path.write_bytes(admin.get(f"/api/v1/models/{model['id']}/checkpoint").content)
    from models import Checkpoint

    calibration = Checkpoint.load(path).config["calibration"]
    assert calibration["method"] == "prior" and calibration["images"] == 2
    assert len(calibration["offsets"]) == 2 and 0 < calibration["shares"][1] < 1


def test_an_image_the_networks_cannot_take_gets_a_4xx_and_loses_no_annotation(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], settings: Settings
) -> None:
    collection, _ = _trained_collection(admin, start_worker)
    # Uploads refuse a 5-channel image in a grey collection (tests/backend/api), so build the
    # mixed collection an older release allowed: upload it elsewhere and move its row in.
    elsewhere = make_collection(admin, "five channels")
    stack = np.stack([discs(s)[0] for s in range(5)])
    odd = upload(
        admin,
        elsewhere["id"],
        ("five.tif", tiff_bytes(stack, photometric="minisblack", metadata={"axes": "CYX"})),
    ).json()["data"][0]
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE images SET collection_id = :c WHERE id = :i"),
            {"c": collection["id"], "i": odd["id"]},
        )
    engine.dispose()
    r = admin.get(f"/api/v1/images/{odd['id']}/prediction")
    assert r.status_code == 422 and "has 5 channels" in r.json()["detail"], r.text
    active = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"][0]
    saved = put_mask(admin, odd["id"], png_bytes(discs(0)[1]), proposal_model_id=str(active["id"]))
    assert saved.status_code == 200, saved.text
    job = wait_job(
        admin,
        admin.post(f"/api/v1/collections/{collection['id']}/jobs", json={"kind": "predict"}).json()[
            "id"
        ],
    )
    assert job["status"] == "succeeded" and "1 image(s) left without a proposal" in job["log_tail"]
