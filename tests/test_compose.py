"""docker-compose.yml and the Dockerfile describe a service that exists and starts.

No Docker engine runs here, so the compose file is parsed and what its `api` service runs is started
directly: the same console script and environment, on a throwaway PostgreSQL instead of `db`.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.servers import free_port, postgres_server, require_postgres

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
STARTUP_SECONDS = 120

# $$ (a literal $), ${VAR}, ${VAR-default}, ${VAR:-default}
_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def api(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]["api"]


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` substitution, with every variable unset (defaults only)."""
    return _INTERPOLATION.sub(
        lambda m: "$" if m.group(0) == "$$" else (m.group("default") or ""), value
    )


def api_environment(api: dict[str, Any]) -> dict[str, str]:
    env = api.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def api_command(api: dict[str, Any]) -> list[str]:
    command = api.get("command")
    if isinstance(command, str):
        command = command.split()
    assert command, "the api service must name its command (a maskloop console script)"
    return [str(part) for part in command]


def dockerfile_instruction(name: str) -> str:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    found = [line.split(None, 1)[1] for line in lines if line.split()[:1] == [name]]
    assert found, f"Dockerfile has no {name}"
    return found[-1]


def test_compose_defines_db_and_api_services(compose):
    assert {"db", "api"} <= set(compose["services"])


def test_db_service_is_postgres_with_healthcheck_and_named_volume(compose):
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    sources = [volume.split(":", 1)[0] for volume in db["volumes"]]
    assert any(source in (compose.get("volumes") or {}) for source in sources)


def test_api_waits_for_healthy_db_and_keeps_data_on_named_volume(compose, api):
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    env = api_environment(api)
    data_dir = env["MASKLOOP_DATA_DIR"]
    mounts = dict(volume.split(":", 1) for volume in api["volumes"])
    assert data_dir in mounts.values()
    source = next(src for src, dst in mounts.items() if dst == data_dir)
    assert source in (compose.get("volumes") or {})
    assert any(str(port).endswith("8000:8000") for port in api["ports"])


def test_api_is_built_from_the_dockerfile(api):
    build = api["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).is_file()
    assert dockerfile_instruction("FROM").startswith("python:3.11-slim")
    assert "/healthz" in dockerfile_instruction("HEALTHCHECK")
    assert json.loads(dockerfile_instruction("CMD")) == api_command(api)


def test_api_command_is_an_installed_console_script(api):
    command = api_command(api)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    assert (Path(sys.executable).parent / command[0]).is_file()
    assert command[1] == "serve"


def test_api_environment_names_only_maskloop_settings(api):
    from backend.config import Settings

    prefix = Settings.model_config["env_prefix"]
    assert prefix == "MASKLOOP_"
    settings = {prefix + name.upper() for name in Settings.model_fields}
    env = api_environment(api)
    assert env
    assert set(env) <= settings, f"not settings: {sorted(set(env) - settings)}"
    assert env["MASKLOOP_DATABASE_URL"].startswith("postgresql+psycopg://")


def _with_option(command: list[str], option: str, value: str) -> list[str]:
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


def _wait_for_healthz(url: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the api exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.25)
            continue
        assert response.status_code == 200, response.text
        return response.json()
    pytest.fail(f"no answer from {url} within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.mark.postgres
def test_api_command_serves_healthz_on_postgres(api, tmp_path):
    require_postgres()
    port = free_port()
    command = api_command(api)
    command = _with_option(command, "--host", "127.0.0.1")
    command = _with_option(command, "--port", str(port))
    command[0] = str(Path(sys.executable).parent / command[0])
    log = tmp_path / "api.log"
    with postgres_server() as database_url:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MASKLOOP_")}
        env |= api_environment(api)
        env["MASKLOOP_DATABASE_URL"] = database_url
        env["MASKLOOP_DATA_DIR"] = str(tmp_path / "data")
        with open(log, "wb") as out:
            # cwd=tmp_path: no .env file of the developer's is read.
            process = subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            body = _wait_for_healthz(f"http://127.0.0.1:{port}/healthz", process, log)
            assert body == {"status": "ok", "database": "ok", "workers": 0}
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_worker_service_shares_the_api_image_data_and_database(compose, api):
    worker = compose["services"]["worker"]
    assert worker["build"] == api["build"]
    assert worker["volumes"] == api["volumes"]
    assert (
        api_environment(worker)["MASKLOOP_DATABASE_URL"]
        == api_environment(api)["MASKLOOP_DATABASE_URL"]
    )
    # The api runs no embedded worker when the worker service runs the jobs.
    assert api_environment(api)["MASKLOOP_WORKER"] == "none"


@pytest.mark.postgres
def test_worker_command_runs_on_postgres(compose, tmp_path):
    require_postgres()
    worker = compose["services"]["worker"]
    command = [*api_command(worker), "--once"]
    command[0] = str(Path(sys.executable).parent / command[0])
    with postgres_server() as database_url:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MASKLOOP_")}
        env |= api_environment(worker)
        env["MASKLOOP_DATABASE_URL"] = database_url
        env["MASKLOOP_DATA_DIR"] = str(tmp_path / "data")
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def test_worker_service_checks_its_own_health_not_the_apis(compose):
    """The image's HEALTHCHECK asks the API's port; the worker container serves none, so it
    must say how it is checked, with a command the image has."""
    worker = compose["services"]["worker"]
    test = worker["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1:] == ["maskloop", "worker", "--check"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert test[1] in scripts
