"""Throwaway PostgreSQL and Redis servers for tests.

Each server runs on a free loopback port in a temporary directory and is removed on exit:

    with postgres_server() as url:   # postgresql+psycopg://postgres@127.0.0.1:PORT/maskloop_test
        ...
    with redis_server() as url:      # redis://127.0.0.1:PORT/0
        ...

When a server's binaries are missing, ``postgres_unavailable_reason()`` and
``redis_unavailable_reason()`` say why. Outside CI the caller skips (``require_postgres()`` does
that inside a test); with the ``CI`` environment variable set, a missing server is an error,
because CI must exercise PostgreSQL and Redis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_DATABASE = "maskloop_test"
START_ATTEMPTS = 3  # a free port can be taken by another process between probing and binding


class ServerUnavailableError(RuntimeError):
    """A server needed by the tests cannot be started on this machine."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin_dir() -> Path | None:
    """Newest Debian PostgreSQL under /usr/lib/postgresql, else wherever initdb is on PATH."""
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if candidates:
        return max(candidates, key=lambda p: _version_key(p.parent.name))
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _postgres_user_exists() -> bool:
    try:
        import pwd

        pwd.getpwnam("postgres")
    except (ImportError, KeyError):
        return False
    return True


def postgres_unavailable_reason() -> str | None:
    """Why no throwaway PostgreSQL can be started here, or None when one can."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        return "PostgreSQL not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH)"
    missing = [tool for tool in ("initdb", "pg_ctl", "createdb") if not (bin_dir / tool).exists()]
    if missing:
        return f"PostgreSQL tools missing in {bin_dir}: {', '.join(missing)}"
    if _is_root():
        # initdb refuses to run as root; run the server as the 'postgres' system user.
        if shutil.which("runuser") is None:
            return "running as root but 'runuser' is missing (initdb refuses root)"
        if not _postgres_user_exists():
            return "running as root but there is no 'postgres' user (initdb refuses root)"
    return None


def postgres_available() -> bool:
    return postgres_unavailable_reason() is None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _is_root() else cmd


def _run(cmd: list[str], what: str, cwd: Path) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ServerUnavailableError(
            f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"{result.stdout}{result.stderr}"
        )


def _raise_unavailable(server: str, reason: str) -> None:
    hint = f" CI must test {server}: let .ci/run install it." if in_ci() else ""
    raise ServerUnavailableError(f"cannot start {server}: {reason}.{hint}")


@contextlib.contextmanager
def postgres_server(database: str = PG_DATABASE) -> Iterator[str]:
    """Start a throwaway PostgreSQL with an empty database; yield its SQLAlchemy URL."""
    reason = postgres_unavailable_reason()
    if reason is not None:
        _raise_unavailable("PostgreSQL", reason)
    bin_dir = _pg_bin_dir()
    assert bin_dir is not None
    workdir = Path(tempfile.mkdtemp(prefix="maskloop-pg-"))
    datadir = workdir / "data"
    started = False
    try:
        if _is_root():
            shutil.chown(workdir, user="postgres", group="postgres")
        _run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    "--no-instructions",
                ]
            ),
            "initdb",
            cwd=workdir,
        )
        port = _start_postgres(bin_dir, workdir, datadir)
        started = True
        _run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                database,
            ],
            "createdb",
            cwd=workdir,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        if started:
            subprocess.run(
                _as_server_user(
                    [str(bin_dir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
                ),
                cwd=workdir,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(workdir, ignore_errors=True)


def _start_postgres(bin_dir: Path, workdir: Path, datadir: Path) -> int:
    """Start the server on a free port (retrying if the port is taken first); return the port."""
    log = workdir / "postgres.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        options = (
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        cmd = _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
        if result.returncode == 0:
            return port
        if attempt == START_ATTEMPTS:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise ServerUnavailableError(
                f"pg_ctl start failed {START_ATTEMPTS} times; last output:\n"
                f"{result.stdout}{result.stderr}\n--- server log ---\n{server_log}"
            )
    raise AssertionError("unreachable")


# --- Redis ------------------------------------------------------------------------------------


def redis_unavailable_reason() -> str | None:
    """Why no throwaway Redis can be started here, or None when one can."""
    if shutil.which("redis-server") is None:
        return "redis-server not installed"
    return None


def redis_available() -> bool:
    return redis_unavailable_reason() is None


def redis_ping(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING on host:port (raw RESP, no client library)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway Redis (no persistence); yield its URL."""
    reason = redis_unavailable_reason()
    if reason is not None:
        _raise_unavailable("Redis", reason)
    workdir = Path(tempfile.mkdtemp(prefix="maskloop-redis-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        process, port = _start_redis(workdir)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    log_path = workdir / "redis.log"
    for _attempt in range(START_ATTEMPTS):
        port = free_port()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            if redis_ping(port):
                return process, port
            time.sleep(0.05)
        _stop(process)
    raise ServerUnavailableError(
        f"redis-server did not answer PING after {START_ATTEMPTS} attempts; log:\n"
        + log_path.read_text(errors="replace")
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- pytest glue ------------------------------------------------------------------------------


def _skip_or_fail(server: str, reason: str | None) -> None:
    if reason is None:
        return
    import pytest

    if in_ci():
        pytest.fail(f"{server} is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"{server} unavailable: {reason}")


def require_postgres() -> None:
    """Inside a test or fixture: skip when PostgreSQL is missing, fail instead when CI is set."""
    _skip_or_fail("PostgreSQL", postgres_unavailable_reason())


def require_redis() -> None:
    """Inside a test or fixture: skip when Redis is missing, fail instead when CI is set."""
    _skip_or_fail("Redis", redis_unavailable_reason())
