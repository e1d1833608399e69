"""The CI entry point and the Makefile run the whole suite and fail when nothing ran."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True)


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")
def test_make_test_runs_pytest_on_every_marker():
    # make's dry run still touches nothing: the venv line is only printed.
    result = subprocess.run(
        ["make", "-n", "test", "VENV=.venv-dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    pytest_lines = [line for line in result.stdout.splitlines() if "-m pytest" in line]
    assert len(pytest_lines) == 1
    assert " -m " not in pytest_lines[0].split("-m pytest", 1)[1], "no marker is deselected"
