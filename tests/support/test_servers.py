"""The throwaway servers start, accept connections, and leave nothing behind."""

import socket
from pathlib import Path

import pytest

from tests.support.servers import (
    PG_DATABASE,
    free_port,
    postgres_server,
    redis_server,
    require_postgres,
    require_redis,
)


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.postgres
def test_postgres_server_accepts_queries_and_is_removed():
    require_postgres()
    import psycopg

    with postgres_server() as url:
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert url.endswith(f"/{PG_DATABASE}")
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (PG_DATABASE,)
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/{PG_DATABASE}", connect_timeout=2)


def test_redis_server_answers_ping_and_is_removed():
    require_redis()
    with redis_server() as url:
        assert url.startswith("redis://127.0.0.1:") and url.endswith("/0")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert sock.recv(16) == b"+PONG\r\n"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_servers_leave_no_temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    require_redis()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with redis_server():
        assert any(tmp_path.iterdir())
    assert not any(tmp_path.iterdir())
