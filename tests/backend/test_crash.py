"""kill -9 of the real server during an upload leaves no half-written record or blob."""

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.backend.factories import gradient, png_bytes, zip_bytes
from tests.conftest import ADMIN_TOKEN
from tests.support.servers import free_port

MASKLOOP = Path(sys.executable).parent / "maskloop"


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(MASKLOOP), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("maskloop serve did not start")


@pytest.fixture
def server_env(tmp_path: Path, database_url: str) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "MASKLOOP_DATA_DIR": str(tmp_path / "data"),
        "MASKLOOP_DATABASE_URL": database_url,
        "MASKLOOP_ADMIN_TOKEN": ADMIN_TOKEN,
        "MASKLOOP_ADMIN_PASSWORD": "admin-password-for-tests",
        "MASKLOOP_ORPHAN_GRACE_SECONDS": "0",
    }
    yield env


def _rows(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def _assert_store_consistent(data_dir: Path, url: str) -> None:
    leftovers = list((data_dir / "tmp").iterdir())
    assert leftovers == [], leftovers
    blobs = list((data_dir / "blobs").glob("??/*"))
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, "half-written blob"
    # Every remaining blob belongs to a committed image (3 blobs each: original, render, thumb).
    assert len(blobs) <= 3 * _rows(url, "images")


HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _serve_with_collection(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, str, int]:
    """A real server and an empty collection: (process, port, base URL, collection id)."""
    port = free_port()
    server = _start(env, port)
    base = f"http://127.0.0.1:{port}"
    made = httpx.post(
        f"{base}/api/v1/collections", json={"name": "crash", "kind": "instance"}, headers=HEADERS
    )
    return server, port, base, made.json()["id"]


def test_kill_during_upload_leaves_no_partial_record_or_blob(
    server_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    server, port, base, collection_id = _serve_with_collection(server_env)
    headers = HEADERS
    archive = zip_bytes({f"{i}.png": png_bytes(gradient(768, 768, seed=i)) for i in range(40)})
    data_dir = tmp_path / "data"
    blob_dir = data_dir / "blobs"
    before = set(blob_dir.glob("??/*"))

    def send() -> None:
        with contextlib.suppress(httpx.TransportError):  # the server dies under it
            httpx.post(
                f"{base}/api/v1/collections/{collection_id}/images",
                files={"files": ("many.zip", archive, "application/zip")},
                headers=headers,
                timeout=60,
            )

    sender = threading.Thread(target=send)
    sender.start()
    # Kill once the server is inside the upload: some blobs written, nothing committed yet.
    deadline = time.monotonic() + 60
    while set(blob_dir.glob("??/*")) == before and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    sender.join()
    assert _rows(database_url, "images") == 0, "a partial upload was committed"

    restarted = _start(server_env, port)
    try:
        _assert_store_consistent(data_dir, database_url)
        assert list(blob_dir.glob("??/*")) == []
        listing = httpx.get(f"{base}/api/v1/collections/{collection_id}/images", headers=headers)
        assert listing.json()["count"] == 0
        # The service still works after the crash.
        r = httpx.post(
            f"{base}/api/v1/collections/{collection_id}/images",
            files={"files": ("ok.png", png_bytes(gradient()), "image/png")},
            headers=headers,
        )
        assert r.status_code == 201
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)


def test_kill_while_body_streams_leaves_nothing(
    server_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    server, port, base, collection_id = _serve_with_collection(server_env)
    headers = HEADERS
    boundary = "maskloopboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def slow_body() -> Iterator[bytes]:
        yield head
        yield png_bytes(gradient())[:100]
        os.kill(server.pid, signal.SIGKILL)  # the rest never arrives
        time.sleep(0.5)
        yield b"rest"

    with pytest.raises(httpx.TransportError):
        httpx.post(
            f"{base}/api/v1/collections/{collection_id}/images",
            content=slow_body(),
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=30,
        )
    server.wait()
    restarted = _start(server_env, port)
    try:
        assert _rows(database_url, "images") == 0
        _assert_store_consistent(tmp_path / "data", database_url)
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)
