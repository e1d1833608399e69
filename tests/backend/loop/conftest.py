"""A real worker process beside the live server, and helpers to wait on jobs."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from backend.config import Settings
from backend.jobs.embedded import settings_env


class WorkerProcess:
    def __init__(
        self, settings: Settings, prefix: str = "worker", extra: dict[str, str] | None = None
    ) -> None:
        env = settings_env(settings) | (extra or {})
        env["MASKLOOP_WORKER_NAME_PREFIX"] = prefix
        env["OMP_NUM_THREADS"] = "1"
        self.process = subprocess.Popen([sys.executable, "-m", "backend.jobs.worker"], env=env)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(prefix: str = "worker", extra: dict[str, str] | None = None) -> WorkerProcess:
        """``extra``: environment variables (settings) of this worker only."""
        worker = WorkerProcess(settings, prefix, extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_job(
    http: httpx.Client,
    job_id: int,
    timeout: float = 240,
    until: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not reach {until}: {job}")


def wait_idle(http: httpx.Client, collection_id: int, timeout: float = 300) -> list[dict]:
    """Wait until no job of the collection is queued or running (auto-triggered ones too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = http.get(f"/api/v1/collections/{collection_id}/jobs").json()["data"]
        if all(j["status"] not in ("queued", "running") for j in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"collection {collection_id} still busy: {jobs}")


@pytest.fixture(scope="session")
def checkpoint_bytes() -> bytes:
    """One tiny trained network for the whole session (training it takes a few seconds)."""
    from tests.backend.loop.versions import tiny_checkpoint_bytes

    return tiny_checkpoint_bytes()
