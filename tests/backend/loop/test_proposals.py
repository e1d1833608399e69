"""A proposal whose image or model version is deleted while it is computed: a 404 with a
message and no blob left behind, and a predict job that goes on with the other images.

The deletion is forced into the window between computing and committing by a store that
deletes (committed, from another session) when the proposal's first blob is written."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.errors import NotFound
from backend.jobs.context import JobContext
from backend.jobs.queue import DatabaseQueue
from backend.jobs.reporter import Reporter
from backend.jobs.tasks import predict
from backend.orm import Image, Job, ModelStatus, ModelVersion, Prediction
from backend.services.predictions import prediction_for
from backend.storage import LocalBlobStore
from tests.backend.api.helpers import make_collection
from tests.backend.loop.data import upload_discs
from tests.backend.loop.versions import add_version


class _DeletesWhileWriting(LocalBlobStore):
    """The store, with another request deleting a row the moment the first blob is written;
    records the blobs it created."""

    def __init__(self, root: Path, delete_once: Callable[[], None]) -> None:
        super().__init__(root)
        self.delete_once: Callable[[], None] | None = delete_once
        self.created: list[str] = []

    def put(self, data: bytes) -> tuple[str, bool]:
        if self.delete_once is not None:
            hook, self.delete_once = self.delete_once, None
            hook()
        key, created = super().put(data)
        if created:
            self.created.append(key)
        return key, created


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def collection(admin: httpx.Client) -> dict:
    made = make_collection(admin, "proposals")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"retrain_every": 0, "auto_pretrain_min_images": 0},
    )
    return made


def _delete_model(factory: sessionmaker[Session], model_id: int) -> Callable[[], None]:
    def hook() -> None:
        with factory() as other:
            other.execute(delete(ModelVersion).where(ModelVersion.id == model_id))
            other.commit()

    return hook


def _predict_expecting_404(
    factory: sessionmaker[Session],
    store: _DeletesWhileWriting,
    image_id: int,
    model_id: int,
    message: str,
) -> None:
    """Ask for the proposal while the store's hook deletes a row: a 404, and every blob the
    attempt wrote is gone again."""
    with factory() as db:
        image = db.get(Image, image_id)
        assert image is not None
        with pytest.raises(NotFound, match=message):
            prediction_for(db, store, image, model_id)
    assert store.created and not any(store.exists(key) for key in store.created)


def test_image_deleted_while_its_proposal_is_computed_is_404_and_leaves_no_blob(
    admin: httpx.Client,
    collection: dict,
    settings: Settings,
    factory: sessionmaker[Session],
    checkpoint_bytes: bytes,
) -> None:
    image_id = upload_discs(admin, collection["id"], range(1))[0]["id"]
    model_id = add_version(settings, collection["id"], checkpoint_bytes, 1, ModelStatus.active)

    def delete_image() -> None:
        assert admin.delete(f"/api/v1/images/{image_id}").status_code == 200

    store = _DeletesWhileWriting(settings.blob_dir, delete_image)
    _predict_expecting_404(factory, store, image_id, model_id, f"Image {image_id} was deleted")
    with factory() as db:
        assert db.scalar(select(Prediction.id)) is None


def test_model_deleted_while_it_predicts_is_404_and_leaves_no_blob(
    admin: httpx.Client,
    collection: dict,
    settings: Settings,
    factory: sessionmaker[Session],
    checkpoint_bytes: bytes,
) -> None:
    image_id = upload_discs(admin, collection["id"], range(1))[0]["id"]
    model_id = add_version(settings, collection["id"], checkpoint_bytes, 1)
    store = _DeletesWhileWriting(settings.blob_dir, _delete_model(factory, model_id))
    _predict_expecting_404(
        factory, store, image_id, model_id, f"Model version {model_id} was deleted"
    )
    # The image is untouched and can still be shown.
    assert admin.get(f"/api/v1/images/{image_id}").status_code == 200


def test_predict_job_skips_an_image_deleted_meanwhile_and_goes_on(
    admin: httpx.Client,
    collection: dict,
    settings: Settings,
    factory: sessionmaker[Session],
    checkpoint_bytes: bytes,
) -> None:
    images = [i["id"] for i in upload_discs(admin, collection["id"], range(3))]
    model_id = add_version(settings, collection["id"], checkpoint_bytes, 1, ModelStatus.active)
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "predict", "params": {"model_id": model_id}},
    )
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]

    def delete_first() -> None:  # while the job computes the first image's proposal
        assert admin.delete(f"/api/v1/images/{images[0]}").status_code == 200

    # The task itself, in this process, so its store can force the interleaving.
    store = _DeletesWhileWriting(settings.blob_dir, delete_first)
    ctx = JobContext(settings, factory, store, DatabaseQueue(), Reporter(factory, job_id))
    assert predict.run(ctx, job_id) == "succeeded"

    with factory() as db:
        predicted = set(db.scalars(select(Prediction.image_id)))
        log = db.get(Job, job_id).log_tail  # type: ignore[union-attr]
    assert predicted == set(images[1:])
    assert f"image {images[0]} was deleted" in log.lower()
    # The job reached its end: the remaining images show their proposals.
    for image_id in images[1:]:
        assert admin.get(f"/api/v1/images/{image_id}").json()["status"] == "proposed"
