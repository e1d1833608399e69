"""Workers beat in the workers table: the service can tell that none runs, and a container
health check can tell that this machine's worker is polling."""

import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs.embedded import settings_env
from backend.migrate import upgrade
from backend.orm import Worker
from backend.orm._types import utcnow
from tests.backend.api.helpers import make_collection
from tests.backend.loop.conftest import WorkerProcess
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.support import servers


def _wait_alive(http: httpx.Client, count: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = http.get("/api/v1/workers").json()
        if listing["alive"] == count:
            return listing
        time.sleep(0.2)
    raise AssertionError(f"expected {count} live workers: {listing}")


def _check(settings: Settings) -> subprocess.CompletedProcess[str]:
    maskloop = str(Path(sys.executable).parent / "maskloop")
    return subprocess.run(
        [maskloop, "worker", "--check"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_a_worker_is_listed_while_it_polls_and_signs_off_when_stopped(
    admin: httpx.Client, settings: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    collection = make_collection(admin, "workers")
    jobs_url = f"/api/v1/collections/{collection['id']}/jobs"
    assert admin.get("/api/v1/workers").json() == {"data": [], "count": 0, "alive": 0}
    assert admin.get("/healthz").json() == {"status": "ok", "database": "ok", "workers": 0}
    assert admin.get(jobs_url).json()["workers_alive"] == 0
    refused = _check(settings)
    assert refused.returncode == 1 and "no worker on" in refused.stderr

    worker = start_worker("probe")
    listing = _wait_alive(admin, 1)
    (row,) = listing["data"]
    assert row["name"].startswith("probe@") and row["pid"] == worker.process.pid
    assert row["alive"] is True and row["job_id"] is None
    assert admin.get("/healthz").json()["workers"] == 1
    assert admin.get(jobs_url).json()["workers_alive"] == 1
    found = _check(settings)
    assert found.returncode == 0 and row["name"] in found.stdout

    worker.stop()  # SIGTERM, as `docker stop` sends: the worker signs off
    assert worker.process.returncode == 0
    assert admin.get("/api/v1/workers").json()["count"] == 0
    assert _check(settings).returncode == 1


def test_a_worker_that_stopped_beating_is_listed_as_not_alive(
    admin: httpx.Client, settings: Settings
) -> None:
    factory = make_session_factory(make_engine(settings.database_url))
    stale = utcnow() - timedelta(seconds=settings.job_stale_seconds + 5)
    with factory() as db:
        db.add(Worker(name="w@gone:1", host="gone", pid=1, started_at=stale, last_seen_at=stale))
        db.commit()
    listing = admin.get("/api/v1/workers").json()
    assert listing["alive"] == 0 and listing["count"] == 1
    assert listing["data"][0]["name"] == "w@gone:1" and listing["data"][0]["alive"] is False
    assert admin.get("/healthz").json()["workers"] == 0


def test_workers_are_listed_to_viewers_only(
    client: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    assert client.get("/api/v1/workers").status_code == 401
    assert user_client("viewer").get("/api/v1/workers").status_code == 200


@pytest.mark.postgres
def test_healthz_answers_503_with_the_reason_when_the_database_is_gone(tmp_path: Path) -> None:
    servers.require_postgres()
    with ExitStack() as stack:
        database = stack.enter_context(servers.postgres_server())
        upgrade(database)
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=database,
            admin_password=ADMIN_PASSWORD,
            worker="none",
        )
        server = LiveServer(settings)
        with server, httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/healthz").status_code == 200
            stack.close()  # stops PostgreSQL under the running service
            gone = http.get("/healthz")
    assert gone.status_code == 503
    body = gone.json()
    assert body["status"] == "unavailable" and body["workers"] == 0
    assert body["database"].startswith("OperationalError")
