"""A crash or NaN fails the job and keeps the active version; a restart requeues running jobs."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from backend.bootstrap import prepare
from backend.config import Settings
from backend.jobs.embedded import EmbeddedWorker, settings_env
from tests.backend.api.helpers import make_collection, put_mask
from tests.backend.loop.conftest import WorkerProcess, wait_idle, wait_job
from tests.backend.loop.data import label_of, upload_discs

pytestmark = pytest.mark.slow


def _collection(admin: httpx.Client) -> tuple[dict, list[dict]]:
    made = make_collection(admin, "robust")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"auto_pretrain_min_images": 0, "retrain_every": 0},
    )
    images = upload_discs(admin, made["id"], range(5))
    for image in images[:4]:
        put_mask(admin, image["id"], label_of(image))
    return made, images


def test_crashing_training_fails_and_keeps_the_active_version(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], settings: Settings
) -> None:
    collection, images = _collection(admin)
    start_worker()
    first = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 5}},
    ).json()
    assert wait_job(admin, first["id"])["status"] == "succeeded"
    wait_idle(admin, collection["id"])
    active = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"][0]
    # Break the store under the worker: the training job cannot read its images.
    sha = admin.get(f"/api/v1/images/{images[0]['id']}").json()["sha256"]
    (Path(settings.blob_dir) / sha[:2] / sha).unlink()
    second = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 5}},
    ).json()
    ended = wait_job(admin, second["id"])
    assert ended["status"] == "failed"
    assert ended["error"] and ended["finished_at"]
    models = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"]
    assert [(m["id"], m["status"]) for m in models] == [(active["id"], "active")]


def test_nan_loss_fails_the_job(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection, _ = _collection(admin)
    start_worker()
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 60, "lr": 1e6}},
    ).json()
    ended = wait_job(admin, job["id"])
    assert ended["status"] == "failed"
    assert "nan" in ended["error"].lower() or "inf" in ended["error"].lower()
    assert admin.get(f"/api/v1/collections/{collection['id']}/models").json()["count"] == 0


def test_restart_requeues_the_interrupted_job_which_then_finishes(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], settings: Settings
) -> None:
    collection, _ = _collection(admin)
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 400}},
    ).json()
    worker = start_worker(prefix="embedded")
    wait_job(admin, job["id"], until=("running",))
    time.sleep(1.0)
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    assert admin.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "running"
    embedded = settings.model_copy(update={"worker": "embedded"})
    # What `maskloop import` or a second `maskloop worker` does: they run beside a live server,
    # whose embedded worker may be alive, so a job with a fresh heartbeat stays where it is.
    prepare(embedded, migrate=False)
    assert admin.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "running"
    # What `maskloop serve` does at start-up: the last server's embedded worker died with it.
    prepare(embedded, migrate=False, server=True)
    requeued = admin.get(f"/api/v1/jobs/{job['id']}").json()
    assert requeued["status"] == "queued" and "interrupted" in requeued["log_tail"]
    assert admin.get(f"/api/v1/collections/{collection['id']}/models").json()["count"] == 0
    admin.post(f"/api/v1/jobs/{job['id']}/cancel")  # 400 steps is slow; a short job proves the rest
    short = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 3}},
    ).json()
    start_worker()
    assert wait_job(admin, short["id"])["status"] == "succeeded"
    assert requeued["attempts"] == 1


def test_restart_keeps_checkpoints_and_cached_proposals(
    admin: httpx.Client, start_worker: Callable[..., WorkerProcess], settings: Settings
) -> None:
    """The start-up sweep removes unreferenced blobs; models and proposals are referenced."""
    collection, images = _collection(admin)
    start_worker()
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 3}},
    ).json()
    wait_job(admin, job["id"])
    wait_idle(admin, collection["id"])
    before = admin.get(f"/api/v1/images/{images[-1]['id']}/prediction")
    assert before.headers["x-cache"] == "hit"
    prepare(settings, migrate=False)  # what a restart does; the test settings sweep at once
    model = admin.get(f"/api/v1/collections/{collection['id']}/models").json()["data"][0]
    assert admin.get(f"/api/v1/models/{model['id']}/checkpoint").status_code == 200
    after = admin.get(f"/api/v1/images/{images[-1]['id']}/prediction")
    assert after.headers["x-cache"] == "hit" and after.content == before.content


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper (a container's PID 1 may never reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_embedded_worker_exits_when_its_server_is_killed(
    admin: httpx.Client, settings: Settings
) -> None:
    """SIGKILL skips the server's shutdown; the worker must notice and not live on as an orphan."""
    # A stand-in for `maskloop serve`: starts the embedded worker as the server does, then waits.
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from backend.config import get_settings\n"
            "from backend.jobs.embedded import EmbeddedWorker\n"
            "worker = EmbeddedWorker(get_settings())\n"
            "worker.start()\n"
            "print(worker.process.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        env=settings_env(settings),
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    worker_pid = int(server.stdout.readline())
    try:
        time.sleep(1.0)
        assert _alive(worker_pid)
        server.kill()
        server.wait()
        deadline = time.monotonic() + 20
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker_pid), "the embedded worker outlived its killed server"
    finally:
        if _alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)


def test_a_dead_embedded_worker_is_restarted_and_its_job_requeued(
    admin: httpx.Client, settings: Settings
) -> None:
    """Killed by the kernel (out of memory), say: jobs must not wait for a server restart."""
    collection, _ = _collection(admin)
    job = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        json={"kind": "train", "params": {"steps": 100_000}},
    ).json()
    worker = EmbeddedWorker(settings.model_copy(update={"worker": "embedded"}), check_every_s=0.2)
    worker.start()
    try:
        wait_job(admin, job["id"], until=("running",))
        killed = worker.process
        assert killed is not None
        os.kill(killed.pid, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            again = admin.get(f"/api/v1/jobs/{job['id']}").json()
            if again["attempts"] == 2 and again["status"] == "running":
                break
            time.sleep(0.3)
        assert again["attempts"] == 2 and again["status"] == "running", again
        assert "interrupted" in again["log_tail"] and worker.restarts == 1
        assert worker.process is not None and worker.process.pid != killed.pid
        admin.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert wait_job(admin, job["id"])["status"] == "cancelled"
    finally:
        worker.stop()
