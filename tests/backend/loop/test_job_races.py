"""Jobs under unlucky timing: cancels, rollbacks and claims that land between two steps of a
worker. Each test forces its interleaving; none depends on sleeping the right amount."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs.context import JobContext
from backend.jobs.ending import finish
from backend.jobs.queue import DatabaseQueue
from backend.jobs.reporter import Reporter
from backend.jobs.tasks import train
from backend.orm import Collection, Job
from backend.services.jobs import cancel_job
from backend.storage import LocalBlobStore
from tests.backend.api.helpers import make_collection, put_mask
from tests.backend.loop.conftest import WorkerProcess, wait_idle, wait_job
from tests.backend.loop.data import label_of, upload_discs

WORKER = "worker@test"


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _collection(admin: httpx.Client, retrain_every: int = 0) -> dict:
    made = make_collection(admin, "races")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"auto_pretrain_min_images": 0, "retrain_every": retrain_every},
    )
    images = upload_discs(admin, made["id"], range(6))
    for image in images[:4]:
        put_mask(admin, image["id"], label_of(image))
    made["images"] = images
    return made


def _queue_train(admin: httpx.Client, collection_id: int, **params: object) -> int:
    r = admin.post(
        f"/api/v1/collections/{collection_id}/jobs",
        json={"kind": "train", "params": {"ensemble": False, **params}},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


class _Hooked(Reporter):
    """The worker's reporter, with something happening at the first cancel check (while the
    network trains) and every later cancel check missing it: what an event that arrives just
    after the training's last check looks like."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, hook: Callable[[], None]):
        super().__init__(factory, job_id)
        self.hook: Callable[[], None] | None = hook

    def should_stop(self) -> bool:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return False


@dataclass
class InProcess:
    """Claims and runs a training in this process, so a test can act between its steps."""

    settings: Settings
    factory: sessionmaker[Session]

    def run(self, job_id: int, hook: Callable[[], None] = lambda: None) -> str:
        with self.factory() as db:
            # Only this job: the predict jobs that promotions queue would be claimed first.
            db.execute(
                update(Job)
                .where(Job.status == "queued", Job.id != job_id)
                .values(status="cancelled")
            )
            db.commit()
            claimed = DatabaseQueue().claim(db, WORKER)
        assert claimed is not None and claimed.id == job_id
        store = LocalBlobStore(self.settings.blob_dir)
        reporter = _Hooked(self.factory, job_id, hook)
        ctx = JobContext(self.settings, self.factory, store, DatabaseQueue(), reporter, WORKER)
        status = train.run(ctx, job_id)
        finish(self.factory, job_id, WORKER, status, None)  # as the worker does after a task
        return status


@pytest.fixture
def in_process(settings: Settings, factory: sessionmaker[Session]) -> InProcess:
    return InProcess(settings, factory)


def _versions(admin: httpx.Client, collection_id: int) -> dict[int, dict]:
    listed = admin.get(f"/api/v1/collections/{collection_id}/models").json()["data"]
    return {m["version"]: m for m in listed}


@pytest.mark.slow
def test_a_cancel_after_the_last_check_still_registers_nothing(
    admin: httpx.Client, in_process: InProcess
) -> None:
    collection = _collection(admin)
    job_id = _queue_train(admin, collection["id"], steps=3)

    def cancel() -> None:
        assert admin.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200

    assert in_process.run(job_id, hook=cancel) == "cancelled"
    assert _versions(admin, collection["id"]) == {}
    # And a cancel after registration is refused, not acknowledged and ignored.
    second = _queue_train(admin, collection["id"], steps=3)
    assert in_process.run(second) == "succeeded"
    late = admin.post(f"/api/v1/jobs/{second}/cancel")
    assert late.status_code == 409 and "already ended (succeeded)" in late.json()["detail"]


@pytest.mark.slow
def test_a_rollback_during_a_training_is_not_undone_by_it(
    admin: httpx.Client, in_process: InProcess
) -> None:
    collection = _collection(admin)
    assert in_process.run(_queue_train(admin, collection["id"], steps=30)) == "succeeded"
    assert in_process.run(_queue_train(admin, collection["id"], steps=1)) == "succeeded"
    v1, v2 = _versions(admin, collection["id"])[1], _versions(admin, collection["id"])[2]
    assert admin.post(f"/api/v1/models/{v2['id']}/activate").status_code == 200

    def roll_back() -> None:
        assert admin.post(f"/api/v1/models/{v1['id']}/activate").status_code == 200

    assert in_process.run(_queue_train(admin, collection["id"], steps=30), roll_back) == (
        "succeeded"
    )
    versions = _versions(admin, collection["id"])
    assert versions[1]["status"] == "active", "the admin's rollback stands"
    assert versions[3]["status"] == "rejected"
    if "not promoted" in versions[3]["reason"]:  # it beat v2, the version it was compared with
        assert "active version changed during this training" in versions[3]["reason"]


def test_a_cancel_that_loses_the_race_to_a_claim_asks_the_worker_to_stop(
    admin: httpx.Client, factory: sessionmaker[Session]
) -> None:
    collection = _collection(admin)
    job_id = _queue_train(admin, collection["id"], steps=3)
    with factory() as api:
        job = api.get(Job, job_id)
        assert job is not None and job.status == "queued"  # what the API read ...
        with factory() as worker:
            assert DatabaseQueue().claim(worker, WORKER) is not None  # ... before this
        cancel_job(api, job)
    shown = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert shown["status"] == "running" and shown["cancel_requested"] is True


class _StaleBusy(DatabaseQueue):
    """A worker whose look at the running trainings came just before another worker's claim."""

    def _busy_collections(self, db: Session) -> set[int]:
        return set()


def test_two_workers_never_start_two_trainings_of_one_collection(
    admin: httpx.Client, factory: sessionmaker[Session]
) -> None:
    collection = _collection(admin)
    first = _queue_train(admin, collection["id"], steps=3)
    _queue_train(admin, collection["id"], steps=3)
    with factory() as db:
        claimed = DatabaseQueue().claim(db, "worker@a")
    assert claimed is not None and claimed.id == first
    with factory() as db:
        assert _StaleBusy().claim(db, "worker@b") is None


@pytest.mark.slow
@pytest.mark.parametrize("end", ["cancel", "turn off"])
def test_a_remembered_retrain_does_not_outlive_a_cancel_or_turning_retraining_off(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], end: str
) -> None:
    collection = _collection(admin, retrain_every=2)
    cid = collection["id"]
    wait_idle_jobs = [j["id"] for j in admin.get(f"/api/v1/collections/{cid}/jobs").json()["data"]]
    for queued in wait_idle_jobs:  # the triggers of the four set-up masks
        admin.post(f"/api/v1/jobs/{queued}/cancel")
    job_id = _queue_train(admin, cid, steps=100_000 if end == "cancel" else 40)
    start_worker()
    wait_job(admin, job_id, until=("running",))
    for image in collection["images"][4:6]:  # two annotations while it runs: a trigger
        put_mask(admin, image["id"], label_of(image))
    if end == "cancel":
        admin.post(f"/api/v1/jobs/{job_id}/cancel")
        assert wait_job(admin, job_id)["status"] == "cancelled"
    else:
        admin.patch(f"/api/v1/collections/{cid}/settings", json={"retrain_every": 0})
        assert wait_job(admin, job_id)["status"] == "succeeded"
    started = {job_id, *wait_idle_jobs}
    jobs = wait_idle(admin, cid)
    assert {j["id"] for j in jobs if j["kind"] == "train"} == started
    if end == "cancel":
        # Nothing is left to fire later either: the next training ends with no follow-up.
        follow = _queue_train(admin, cid, steps=3)
        assert wait_job(admin, follow)["status"] == "succeeded"
        jobs = wait_idle(admin, cid)
        assert {j["id"] for j in jobs if j["kind"] == "train"} == {*started, follow}


def test_annotations_saved_while_a_training_waits_in_the_queue_start_no_second_one(
    admin: httpx.Client, factory: sessionmaker[Session]
) -> None:
    collection = _collection(admin, retrain_every=1)  # the first mask queued a training
    put_mask(admin, collection["images"][4]["id"], label_of(collection["images"][4]))
    jobs = admin.get(f"/api/v1/collections/{collection['id']}/jobs").json()["data"]
    assert [j["status"] for j in jobs] == ["queued"]
    with factory() as db:
        stored = db.get(Collection, collection["id"])
        assert stored is not None and stored.retrain_pending is False
