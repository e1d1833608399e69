"""The loop benchmark end to end on a tiny synthetic set: it plays the scientist through the
real service and reports what the README's table shows, the service's own figures included."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.bench.__main__ import main
from tests.backend.loop.data import discs


def _dataset(root: Path, pool: int, test: int) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rows = ["stem,split"]
    for seed in range(pool + test):
        image, labels = discs(seed, size=96, count=4)
        Image.fromarray(image).save(root / "images" / f"s{seed}.png")
        Image.fromarray(labels).save(root / "labels" / f"s{seed}.png")
        rows.append(f"s{seed},{'pool' if seed < pool else 'test'}")
    (root / "split.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.slow
def test_two_rounds_report_work_left_and_the_services_stats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _dataset(tmp_path / "data", pool=8, test=2)
    out = tmp_path / "loop.json"
    args = ["loop", "--data", str(data), "--rounds", "2", "--per-round", "2", "--pool", "8"]
    args += ["--test", "2", "--pretrain-minutes", "0.05", "--train-minutes", "0.05"]
    kept = tmp_path / "service"
    assert main([*args, "--out", str(out), "--keep", str(kept)]) == 0
    report = json.loads(out.read_text())
    first, second = report["rounds"]
    assert first["model_version"] is None  # nothing to propose before the first training
    assert first["corrected_fraction"] == pytest.approx(first["empty_start_fraction"])
    assert second["model_version"] == 1 and second["test_dice"] is not None
    # The fixed test images: what the active version's proposals there would need corrected,
    # against drawing them from empty (their foreground share).
    truths = [np.array(Image.open(data / "labels" / f"s{i}.png")) for i in (8, 9)]
    assert report["test_empty_start_fraction"] == pytest.approx(
        np.mean([np.mean(t > 0) for t in truths])
    )
    for entry in (first, second):
        assert 0 <= entry["test_corrected_fraction"] <= 1
    printed = capsys.readouterr().out
    assert "| work left |" in printed and "| 1 | none | 2 |" in printed
    assert "| test corrected px (after) |" in printed
    assert "test images (" in printed and "/ from empty: " in printed
    # The service keeps the same figure per version; v1's proposals were corrected in round 2.
    v1 = next(s for s in report["service_stats"] if s["version"] == 1)
    assert v1["corrections"] == sum(1 for s in second["served"])
    expected = sum(s["corrected"] for s in second["served"]) / sum(
        s["empty_start"] for s in second["served"]
    )
    assert v1["pixel_work_ratio"] == pytest.approx(expected, abs=1e-3)
    # The service's folder stays for offline study of its versions.
    assert (kept / "data" / "maskloop.db").is_file() and (kept / "service.log").is_file()


def test_keep_must_be_a_new_or_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _dataset(tmp_path / "data", pool=2, test=1)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(SystemExit) as stopped:
        main(["loop", "--data", str(data), "--keep", str(tmp_path / "used")])
    assert stopped.value.code == 2
    assert "is not an empty folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--train-minutes", "-1"], "--train-minutes must be"),
        (["--pretrain-minutes", "nan"], "--pretrain-minutes must be"),
        (["--pool", "-5"], "--pool must be 0 or more"),
        (["--strategy", "bogus"], "--strategy must be one of"),
        (["--out", "."], "is a folder"),
    ],
)
def test_bad_arguments_stop_before_the_service_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    data = _dataset(tmp_path / "data", pool=2, test=1)
    with pytest.raises(SystemExit) as stopped:
        main(["loop", "--data", str(data), *args])
    assert stopped.value.code == 2
    assert words in capsys.readouterr().err
