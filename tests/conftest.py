"""Shared fixtures: a migrated database (SQLite and PostgreSQL), the live service over real HTTP
on 127.0.0.1, and authenticated clients for each role."""

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from backend.config import Settings
from backend.db import Base
from backend.main import create_app
from backend.migrate import upgrade
from tests.support import servers

ADMIN_PASSWORD = "admin-password-for-tests"
ADMIN_TOKEN = "mlt_admin-token-for-tests"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    servers.require_postgres()
    with servers.postgres_server() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "maskloop.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "maskloop.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        admin_token=ADMIN_TOKEN,
        orphan_grace_seconds=0,
        max_file_bytes=4 << 20,
        max_upload_bytes=8 << 20,
        max_image_pixels=4096 * 4096,
        max_zip_total_bytes=16 << 20,
        max_zip_members=50,
        # Tests that need jobs run start a worker process themselves (the `worker` fixture).
        worker="none",
        device="cpu",
    )


class LiveServer:
    """uvicorn in a thread, serving the app on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = servers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An anonymous client."""
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield http


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url,
        timeout=60,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as http:
        yield http


@pytest.fixture
def user_client(
    live_server: LiveServer, admin: httpx.Client
) -> Iterator[Callable[[str], httpx.Client]]:
    """Factory: a client authenticated with an API token of a new user of the given role."""
    made: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        if role == "admin":
            return admin
        name = f"{role}{len(made)}"
        r = admin.post(
            "/api/v1/users", json={"username": name, "password": "password-123", "role": role}
        )
        assert r.status_code == 201, r.text
        login = httpx.Client(base_url=live_server.url, timeout=60)
        assert (
            login.post(
                "/api/v1/auth/login", json={"username": name, "password": "password-123"}
            ).status_code
            == 200
        )
        token = login.post("/api/v1/tokens", json={"name": "tests"}).json()["token"]
        login.close()
        http = httpx.Client(
            base_url=live_server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
        )
        made.append(http)
        return http

    yield make
    for http in made:
        http.close()
