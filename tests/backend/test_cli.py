"""The maskloop command line, run as a real process against a real database."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.backend.factories import gradient, label_image, png_bytes

MASKLOOP = Path(sys.executable).parent / "maskloop"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MASKLOOP_DATA_DIR": str(tmp_path / "data"),
        "MASKLOOP_DATABASE_URL": database_url,
        "MASKLOOP_ADMIN_PASSWORD": "admin-password-for-tests",
    }


def run(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MASKLOOP), *args], env=env, capture_output=True, text=True, timeout=120, input=input
    )


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return int(n)


def test_import_folder_with_masks(env: dict[str, str], tmp_path: Path, database_url: str) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(3):
        (images / f"n{i}.png").write_bytes(png_bytes(gradient(seed=i)))
    (masks / "n1.png").write_bytes(png_bytes(label_image()))
    (images / "broken.png").write_bytes(b"not a png")
    result = run(env, "import", str(images), "--collection", "nuclei", "--masks", str(masks))
    # What could be imported is; the exit status still tells a script that a file was not.
    assert result.returncode == 1, result.stderr
    assert "3 added" in result.stdout and "1 masks" in result.stdout
    assert "broken.png" in result.stdout and "1 file(s) rejected" in result.stderr
    assert count(database_url, "SELECT count(*) FROM images") == 3
    assert count(database_url, "SELECT count(*) FROM annotations") == 1
    (images / "broken.png").unlink()
    again = run(env, "import", str(images), "--collection", "nuclei")
    assert again.returncode == 0, again.stderr
    assert "3 already there" in again.stdout


def test_import_of_a_folder_without_images_creates_nothing(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    result = run(env, "import", str(empty), "--collection", "nuclei")
    assert result.returncode == 2 and "holds no images" in result.stderr
    assert count(database_url, "SELECT count(*) FROM collections") == 0


def test_import_says_when_no_mask_matches_an_image(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    (images / "n0.png").write_bytes(png_bytes(gradient(seed=0)))
    (masks / "n0_mask.png").write_bytes(png_bytes(label_image()))
    result = run(env, "import", str(images), "--collection", "nuclei", "--masks", str(masks))
    assert result.returncode == 0, result.stderr
    assert "no file in" in result.stderr and "stem" in result.stderr
    assert count(database_url, "SELECT count(*) FROM annotations") == 0


def test_import_missing_folder_fails_with_message(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "import", str(tmp_path / "nope"), "--collection", "x")
    assert result.returncode != 0
    assert "is not a folder" in result.stderr


def test_create_user_and_token(env: dict[str, str], database_url: str) -> None:
    made = run(env, "create-user", "alice", "--role", "viewer", "--password", "password-1")
    assert made.returncode == 0, made.stderr
    token = run(env, "token", "alice", "--name", "script")
    assert token.returncode == 0 and token.stdout.strip().startswith("mlt_")
    assert count(database_url, "SELECT count(*) FROM api_tokens") == 1


def test_create_user_twice_fails(env: dict[str, str]) -> None:
    run(env, "create-user", "bob", "--password", "password-1")
    again = run(env, "create-user", "bob", "--password", "password-1")
    assert again.returncode != 0 and "already exists" in again.stderr


def test_create_user_with_bad_role_fails(env: dict[str, str]) -> None:
    result = run(env, "create-user", "carol", "--role", "boss", "--password", "password-1")
    assert result.returncode != 0 and "unknown role" in result.stderr


def test_token_for_unknown_user_fails(env: dict[str, str]) -> None:
    result = run(env, "token", "nobody")
    assert result.returncode != 0 and "nobody" in result.stderr


def test_load_demo_is_idempotent(env: dict[str, str], database_url: str) -> None:
    first = run(env, "load-demo")
    assert first.returncode == 0, first.stderr
    n = count(database_url, "SELECT count(*) FROM images")
    assert n >= 20
    assert count(database_url, "SELECT count(*) FROM annotations") > 0
    second = run(env, "load-demo")
    assert "already loaded" in second.stdout
    assert count(database_url, "SELECT count(*) FROM images") == n


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        (
            "MASKLOOP_DATABASE_URL",
            "postgresql+psycopg://nobody:x@127.0.0.1:1/none",
            "MASKLOOP_DATABASE_URL",
        ),
        ("MASKLOOP_DATABASE_URL", "nonsense://", "MASKLOOP_DATABASE_URL"),
        ("MASKLOOP_DATABASE_URL", "mysql://u:p@127.0.0.1/db", "SQLite or PostgreSQL"),
        ("MASKLOOP_DATABASE_URL", "postgresql+psycopg2://u@127.0.0.1/db", "not installed"),
        ("MASKLOOP_MAX_FILE_BYTES", "-1", "MASKLOOP_MAX_FILE_BYTES"),
    ],
)
def test_bad_configuration_is_one_line_not_a_traceback(
    env: dict[str, str], setting: str, value: str, words: str
) -> None:
    result = run({**env, setting: value}, "migrate")
    assert result.returncode == 2, result.stderr
    assert "error: " in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 3


def test_settings_past_their_range_and_unknown_devices_are_refused(env: dict[str, str]) -> None:
    for setting, value in (("MASKLOOP_SESSION_HOURS", "inf"), ("MASKLOOP_DEVICE", "tpu")):
        result = run({**env, setting: value}, "migrate")
        assert result.returncode == 2 and f"error: {setting}: " in result.stderr, result.stderr


def test_migrate_and_create_user_work_on_a_fresh_data_folder(tmp_path: Path) -> None:
    fresh = {**os.environ, "MASKLOOP_DATA_DIR": str(tmp_path / "new" / "data")}
    fresh.pop("MASKLOOP_DATABASE_URL", None)
    assert run(fresh, "migrate").returncode == 0
    other = {**fresh, "MASKLOOP_DATA_DIR": str(tmp_path / "other")}
    made = run(other, "create-user", "bob", "--password", "long-enough")
    assert made.returncode == 0, made.stderr
    refused = run(other, "create-user", "", "--password", "long-enough")
    assert refused.returncode == 2 and "username" in refused.stderr


def test_serve_on_a_port_in_use_fails_before_announcing_itself(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(env, "serve", "--port", str(port))
    assert result.returncode == 2 and "cannot listen on" in result.stderr, result.stderr
    assert "serving" not in result.stdout
