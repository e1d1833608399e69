"""The benchmark end to end on tiny generated datasets (CPU, tiny budgets)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.bench import main, parse_args
from models.bench_data import detect_kind, draw_labeled, load_bench_data
from models.bench_report import summarize


def _blobs(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((size, size), np.uint16)
    for i in range(1, 4):
        cy, cx = rng.integers(10, size - 10, size=2)
        labels[((yy - cy) ** 2 + (xx - cx) ** 2 <= 36) & (labels == 0)] = i
    image = np.where(labels > 0, 200, 30) + rng.normal(0, 10, labels.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def _make_dsb(root: Path, n_pool: int = 5, n_test: int = 2) -> Path:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rows = ["stem,split"]
    for i in range(n_pool + n_test):
        image, labels = _blobs(rng)
        rgba = np.dstack([image, image, image, np.full_like(image, 255)])
        Image.fromarray(rgba, "RGBA").save(root / "images" / f"s{i}.png")
        Image.fromarray(labels).save(root / "labels" / f"s{i}.png")
        rows.append(f"s{i},{'pool' if i < n_pool else 'test'}")
    (root / "split.csv").write_text("\n".join(rows) + "\n")
    return root


def _make_isbi(root: Path, n: int = 22) -> Path:
    rng = np.random.default_rng(1)
    for d in ("images", "masks", "unlabeled"):
        (root / d).mkdir(parents=True)
    for i in range(n):
        mask = np.full((48, 48), 255, np.uint8)
        mask[:, rng.integers(5, 40)] = 0  # a dark membrane line
        image = np.clip(np.where(mask == 0, 40, 190) + rng.normal(0, 10, mask.shape), 0, 255)
        Image.fromarray(image.astype(np.uint8)).save(root / "images" / f"{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i}.png")
        Image.fromarray(image.astype(np.uint8)).save(root / "unlabeled" / f"{i}.png")
    return root


def test_detect_kind_by_folder_contents(tmp_path):
    assert detect_kind(_make_dsb(tmp_path / "a")) == "dsb2018"
    assert detect_kind(_make_isbi(tmp_path / "b")) == "isbi2012"
    with pytest.raises(ValueError, match="neither"):
        detect_kind(tmp_path)


def test_load_isbi_splits_candidates_and_test_and_maps_membrane_to_class_1(tmp_path):
    data = load_bench_data(_make_isbi(tmp_path / "isbi"))
    assert len(data.candidate_images) == 20 and len(data.test_images) == 2
    assert not set(data.candidate_ids) & set(data.test_ids)
    assert len(data.pretrain_images) == 20 + 22  # candidates and unlabeled, never test
    mask = data.candidate_masks[0]
    assert set(np.unique(mask)) == {0, 1} and mask.mean() < 0.5


def test_load_dsb_reads_rgba_as_gray_and_keeps_test_out_of_pretraining(tmp_path):
    data = load_bench_data(_make_dsb(tmp_path / "dsb"))
    assert data.kind == "instance"
    assert data.candidate_images[0].ndim == 2
    assert len(data.pretrain_images) == 5 and len(data.test_images) == 2
    assert not set(data.candidate_ids) & set(data.test_ids)


def test_draw_labeled_is_nested_and_seeded():
    assert draw_labeled(10, [1, 4], seed=3) == draw_labeled(10, [4], seed=3)
    assert draw_labeled(10, [1, 4], seed=3) != draw_labeled(10, [1, 4], seed=4)
    with pytest.raises(ValueError, match="only 10"):
        draw_labeled(10, [16], seed=0)


def test_parse_args_rejects_unknown_method(tmp_path):
    with pytest.raises(SystemExit):
        parse_args(["--data", str(tmp_path), "--methods", "scratch,jigsaw"])


def test_summarize_finds_labels_saved_and_default_gap():
    s = {
        "scratch": {"1": {"dice": 0.5}, "4": {"dice": 0.8}},
        "masked": {"1": {"dice": 0.81}, "4": {"dice": 0.82}},
    }
    out = summarize(s, "semantic")
    assert out["smallest_k_matching_scratch_at_k4"] == {"masked": 1}
    assert out["default_minus_scratch_dice"] == {"1": 0.31, "4": 0.02}


@pytest.mark.slow
@pytest.mark.parametrize("maker", [_make_dsb, _make_isbi])
def test_bench_runs_end_to_end_on_tiny_data(tmp_path, maker, capsys):
    root = maker(tmp_path / "data")
    out = tmp_path / "res.json"
    args = ["--data", str(root), "--labels", "1,2", "--methods", "scratch,masked"]
    args += ["--pretrain-steps", "2", "--finetune-steps", "2", "--device", "cpu"]
    args += ["--out", str(out), "--jobs", "1"]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert set(result["scores"]) == {"scratch", "masked", "otsu", "rf"}
    assert set(result["scores"]["rf"]) == {"1", "2"}
    assert 0.0 <= result["scores"]["scratch"]["2"]["dice"] <= 1.0
    assert result["timings"]["masked"]["pretrain_s"] >= 0
    assert result["usage"]["wall_minutes"] >= 0
    assert result["environment"]["torch"]
    assert out.with_suffix(".md").read_text().count("| otsu |") >= 2
    assert "minutes used" in capsys.readouterr().out


def test_summarize_handles_a_partial_run():
    s = {"scratch": {"1": {"dice": 0.5}, "2": {"dice": 0.6}}, "masked": {"1": {"dice": 0.7}}}
    out = summarize(s, "semantic")
    assert out["best_pretext"] == {"1": {"method": "masked", "dice_gain": 0.2}}
    assert out["smallest_k_matching_scratch_at_k2"] == {"masked": 1}
