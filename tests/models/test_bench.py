"""The benchmark end to end on tiny generated datasets (CPU, tiny budgets)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import models
from models import Checkpoint
from models.bench import main, parse_args, run_bench
from models.bench_data import (
    detect_kind,
    draw_labeled,
    is_colour,
    load_bench_data,
    read_gray,
    read_rgb,
    to_gray,
)
from models.bench_report import merge_results, render_markdown, summarize
from models.postprocess import MIN_OBJECT_CONFIDENCE


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


def _stub(root: Path) -> str:
    """A folder that looks like dsb2018 (argument checks read no image)."""
    (root / "images").mkdir(exist_ok=True)
    (root / "split.csv").write_text("stem,split\n")
    return str(root)


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
        parse_args(["--data", _stub(tmp_path), "--methods", "scratch,jigsaw"])


def test_parse_args_rejects_min_object_confidence_outside_unit_interval(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--min-object-confidence", "1.5"])
    assert "--min-object-confidence must be in [0, 1]" in capsys.readouterr().err


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
    networks = {"scratch", "masked"}
    if result["dataset"]["kind"] == "instance":
        # Scored as the service proposes (unsure objects left out) and on every object.
        assert result["config"]["min_object_confidence"] == MIN_OBJECT_CONFIDENCE
        networks |= {f"{m} (all objects)" for m in networks}
        # Why objects were missed: the merged / split shares get their own tables.
        assert 0.0 <= result["scores"]["scratch"]["2"]["objects_merged"] <= 1.0
        assert "**objects_merged**" in out.with_suffix(".md").read_text()
    else:
        # Semantic models match the labeled class shares on the pool; the raw argmax is the twin.
        networks |= {f"{m} (uncalibrated)" for m in networks}
    assert set(result["scores"]) == networks | {"otsu", "rf"}
    assert set(result["scores"]["rf"]) == {"1", "2"}
    assert 0.0 <= result["scores"]["scratch"]["2"]["dice"] <= 1.0
    assert result["timings"]["masked"]["pretrain_s"] >= 0
    assert result["usage"]["wall_minutes"] >= 0
    assert result["environment"]["torch"]
    assert out.with_suffix(".md").read_text().count("| otsu |") >= 2
    assert "minutes used" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_coverage_draw_pretrains_once_and_labels_distinct_candidates(tmp_path, capsys):
    root = _make_dsb(tmp_path / "data", n_pool=6)
    out = tmp_path / "res.json"
    args = ["--data", str(root), "--labels", "1,3", "--methods", "masked", "--baselines", ""]
    args += ["--pretrain-steps", "2", "--finetune-steps", "2", "--device", "cpu"]
    args += ["--draw", "coverage", "--out", str(out)]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["config"]["draw"] == "coverage"
    ids = result["labeled_ids"]
    assert len(ids) == len(set(ids)) == 3 and set(ids) <= {f"s{i}" for i in range(6)}
    # The draw's encoder is the masked row's encoder: pretrained once.
    assert capsys.readouterr().out.count("pretrained 2 steps") == 1
    assert set(result["scores"]["masked"]) == {"1", "3"}


def test_parse_args_rejects_unknown_draw(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--draw", "best"])
    assert "--draw must be one of" in capsys.readouterr().err


def test_summarize_handles_a_partial_run():
    s = {"scratch": {"1": {"dice": 0.5}, "2": {"dice": 0.6}}, "masked": {"1": {"dice": 0.7}}}
    out = summarize(s, "semantic")
    assert out["best_pretext"] == {"1": {"method": "masked", "dice_gain": 0.2}}
    assert out["smallest_k_matching_scratch_at_k2"] == {"masked": 1}


def _colour_png(path: Path, seed: int = 2) -> np.ndarray:
    """Write a stained-looking RGBA file (opaque, channels differ); return its RGB pixels."""
    rgb = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(np.dstack([rgb, np.full((64, 64), 255, np.uint8)]), "RGBA").save(path)
    return rgb


def test_load_with_three_channels_keeps_colour_and_repeats_gray(tmp_path):
    root = _make_dsb(tmp_path / "dsb")
    colour = _colour_png(root / "images" / "s0.png")
    gray = np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(gray, "L").save(root / "images" / "s1.png")
    data = load_bench_data(root, channels=3)
    for image in data.pretrain_images + data.candidate_images + data.test_images:
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    by_id = dict(zip(data.candidate_ids, data.candidate_images, strict=True))
    np.testing.assert_array_equal(by_id["s0"], colour)
    np.testing.assert_array_equal(by_id["s1"], np.repeat(gray[..., None], 3, axis=2))
    luminance = load_bench_data(root, channels=1)
    assert all(image.ndim == 2 for image in luminance.candidate_images)
    with pytest.raises(ValueError, match="channels"):
        load_bench_data(root, channels=2)


def test_to_gray_matches_read_gray_and_passes_2d_through(tmp_path):
    path = tmp_path / "colour.png"
    _colour_png(path)
    # The baselines see exactly the luminance a channels=1 run reads from the file.
    np.testing.assert_array_equal(to_gray(read_rgb(path)), read_gray(path))
    gray = read_gray(path)
    assert to_gray(gray) is gray


def test_parse_args_carries_channels_and_fine_tuning_recipe(tmp_path):
    args = ["--data", _stub(tmp_path), "--channels", "3", "--schedule", "cosine"]
    args += ["--keep", "last", "--sampling", "image", "--val-fraction", "0"]
    (tmp_path / "masked.pt").write_bytes(b"")  # only its existence is checked here
    args += ["--methods", "masked", "--pretrained", str(tmp_path / "masked.pt")]
    cfg = parse_args(args)
    assert (cfg.channels, cfg.schedule, cfg.keep, cfg.sampling) == (3, "cosine", "last", "image")
    assert cfg.val_fraction == 0.0 and cfg.pretrained == tmp_path / "masked.pt"
    stored = json.loads(json.dumps(cfg.to_dict()))  # the JSON output must hold it as is
    assert stored["channels"] == 3 and stored["schedule"] == "cosine" and stored["keep"] == "last"
    assert stored["sampling"] == "image" and stored["val_fraction"] == 0.0
    assert stored["pretrained"] == str(tmp_path / "masked.pt")
    assert stored["save_pretrained"] is None


def test_parse_args_carries_the_instance_target_into_training_and_the_json(tmp_path, capsys):
    cfg = parse_args(["--data", _stub(tmp_path), "--instance-target", "core"])
    assert cfg.train_config(kind="instance").out_channels == 4
    assert json.loads(json.dumps(cfg.to_dict()))["instance_target"] == "core"
    assert parse_args(["--data", _stub(tmp_path)]).instance_target == "boundary"
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--instance-target", "centre"])
    assert "instance_target must be one of" in capsys.readouterr().err


def test_merge_results_reads_runs_without_an_instance_target_as_boundary(tmp_path):
    old, new = _part(1, ["a"]), _part(2, ["a", "b"])  # _part's configs predate the key
    new["config"]["instance_target"] = "boundary"
    merge_results([old, new], tmp_path / "m.json")
    new["config"]["instance_target"] = "core"
    with pytest.raises(ValueError, match="different settings"):
        merge_results([old, new], tmp_path / "m.json")


def test_parse_args_rejects_two_channels(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--channels", "2"])
    assert "--channels must be 1 or 3" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--pretrained", "--save-pretrained"])
@pytest.mark.parametrize("methods", ["masked,rotation", "scratch"])
def test_parse_args_rejects_a_saved_encoder_without_exactly_one_pretext(
    tmp_path, capsys, flag, methods
):
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--methods", methods, flag, str(tmp_path / "e.pt")])
    assert "need exactly one pretext method" in capsys.readouterr().err


def _spy_configs(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """Record the config every call of models.<name> gets (the bench imports it when it runs)."""
    real = getattr(models, name)
    configs: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        configs.append(args[-1])  # pretrain(images, config), train(images, masks, config)
        return real(*args, **kwargs)

    monkeypatch.setattr(models, name, spy)
    return configs


def _tiny_args(root: Path, out: Path, labels: str, methods: str, *more: str) -> list[str]:
    args = ["--data", str(root), "--labels", labels, "--methods", methods, "--out", str(out)]
    args += ["--pretrain-steps", "2", "--finetune-steps", "2", "--device", "cpu"]
    return [*args, "--jobs", "1", "--limit-test", "1", *more]


@pytest.mark.slow
def test_bench_with_rgb_input_and_service_recipe(tmp_path, monkeypatch):
    pretrained, trained = _spy_configs(monkeypatch, "pretrain"), _spy_configs(monkeypatch, "train")
    out = tmp_path / "res.json"
    args = _tiny_args(_make_dsb(tmp_path / "data"), out, "1,2", "scratch,masked")
    args += ["--baselines", "otsu", "--channels", "3", "--schedule", "cosine", "--keep", "last"]
    args += ["--sampling", "image", "--val-fraction", "0"]
    result = run_bench(parse_args(args), quiet=True)
    assert result == json.loads(out.read_text())
    assert result["config"]["channels"] == 3
    for method in ("scratch", "masked", "otsu"):
        assert set(result["scores"][method]) == {"1", "2"}
    # The blobs are bright on dark: Otsu on the luminance of the RGB images finds them.
    assert result["scores"]["otsu"]["1"]["dice"] > 0.9
    assert [c.in_channels for c in pretrained] == [3]
    assert len(trained) == 4
    for c in trained:
        assert (c.in_channels, c.schedule, c.keep, c.sampling) == (3, "cosine", "last", "image")
        assert c.val_fraction == 0.0


@pytest.mark.slow
def test_saved_encoder_is_loaded_by_a_later_run_and_the_runs_merge(tmp_path, monkeypatch, capsys):
    root, encoder = _make_dsb(tmp_path / "data"), tmp_path / "enc" / "masked.pt"
    first_out, second_out, merged_out = (tmp_path / f"{n}.json" for n in ("k1", "k2", "all"))
    args = _tiny_args(root, first_out, "1", "masked", "--baselines", "")
    first = run_bench(parse_args([*args, "--save-pretrained", str(encoder)]), quiet=True)
    saved = Checkpoint.load(encoder)
    assert saved.role == "pretext" and saved.config["pretext"] == "masked"
    assert "pretrain_s" in first["timings"]["masked"]

    def no_pretraining(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a run given --pretrained must not pretrain")

    monkeypatch.setattr(models, "pretrain", no_pretraining)
    args = _tiny_args(root, second_out, "2", "masked", "--baselines", "")
    second = run_bench(parse_args([*args, "--pretrained", str(encoder)]), quiet=True)
    assert "pretrain_s" not in second["timings"]["masked"]
    assert 0.0 <= second["scores"]["masked"]["2"]["dice"] <= 1.0
    # The split-by-K workflow: the two runs join into one table through the CLI.
    assert main(["--merge", str(second_out), str(first_out), "--out", str(merged_out)]) == 0
    merged = json.loads(merged_out.read_text())
    assert set(merged["scores"]["masked"]) == {"1", "2"}
    assert merged["timings"]["masked"]["pretrain_s"] == first["timings"]["masked"]["pretrain_s"]
    assert set(merged["timings"]["masked"]["finetune_s"]) == {"1", "2"}
    assert "minutes used" in capsys.readouterr().out


_DATASET = {"name": "isbi2012", "kind": "semantic", "num_classes": 2, "test": 2}


def _part(k: int, labeled_ids: list[str], test_ids: tuple[str, ...] = ("7", "9")) -> dict:
    """The parts of a `--labels k --methods masked` result that merge_results reads."""
    timings: dict[str, Any] = {"finetune_s": {str(k): float(k)}}
    if k == 1:
        timings["pretrain_s"] = 30.0  # only the run that pretrained and saved the encoder
    return {
        "config": {"labels": [k], "methods": ["masked"], "baselines": [], "out": f"k{k}.json"},
        "dataset": dict(_DATASET),
        "labeled_ids": labeled_ids,
        "test_ids": list(test_ids),
        "scores": {"masked": {str(k): {"dice": 0.5 + k / 10, "iou": 0.4}}},
        "per_image": {"masked": {str(k): [[0.5], [0.6]]}},
        "timings": {"masked": timings},
        "usage": {"wall_minutes": float(k), "process_cpu_minutes": 2.0},
    }


def test_merge_results_joins_runs_split_by_k(tmp_path):
    out = tmp_path / "merged.json"
    merged = merge_results([_part(1, ["a"]), _part(2, ["a", "b"])], out)
    assert merged["config"]["labels"] == [1, 2] and merged["config"]["methods"] == ["masked"]
    assert merged["labeled_ids"] == ["a", "b"]  # the longest draw, whichever part comes first
    assert set(merged["scores"]["masked"]) == {"1", "2"}
    assert set(merged["per_image"]["masked"]) == {"1", "2"}
    assert merged["timings"]["masked"] == {"finetune_s": {"1": 1.0, "2": 2.0}, "pretrain_s": 30.0}
    assert merged["usage"] == {"wall_minutes": 2.0, "process_cpu_minutes": 4.0}
    assert json.loads(out.read_text()) == merged
    assert "| masked | 0.600 | 0.700 |" in out.with_suffix(".md").read_text()


def test_merge_results_rejects_runs_that_drew_other_images_or_tested_on_others(tmp_path):
    with pytest.raises(ValueError, match="labeled_ids"):
        merge_results([_part(1, ["b"]), _part(2, ["a", "b"])], tmp_path / "m.json")
    with pytest.raises(ValueError, match="test_ids"):
        merge_results([_part(1, ["a"]), _part(2, ["a", "b"], ("7", "8"))], tmp_path / "m.json")


def test_merge_results_rejects_network_runs_with_other_settings(tmp_path):
    other = _part(2, ["a", "b"])
    other["config"]["finetune_steps"] = 2000
    with pytest.raises(ValueError, match="different settings"):
        merge_results([_part(1, ["a"]), other], tmp_path / "m.json")


def test_parse_args_rejects_both_encoder_flags_and_a_bad_recipe_before_any_work(tmp_path, capsys):
    enc = str(tmp_path / "e.pt")
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--methods", "masked", "--pretrained", enc,
                    "--save-pretrained", enc])  # fmt: skip
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--data", _stub(tmp_path), "--schedule", "linear"])
    assert "schedule" in capsys.readouterr().err


@pytest.mark.slow
def test_a_loaded_encoder_must_be_of_the_method_it_is_scored_as(tmp_path):
    root, encoder = _make_dsb(tmp_path / "data"), tmp_path / "masked.pt"
    args = _tiny_args(root, tmp_path / "a.json", "1", "masked", "--baselines", "")
    run_bench(parse_args([*args, "--save-pretrained", str(encoder)]), quiet=True)
    args = _tiny_args(root, tmp_path / "b.json", "1", "rotation", "--baselines", "")
    with pytest.raises(ValueError, match="holds a 'masked' encoder"):
        run_bench(parse_args([*args, "--pretrained", str(encoder)]), quiet=True)


def test_is_colour_tells_stained_rgb_from_grey_stored_as_rgb(tmp_path):
    grey = np.dstack([np.arange(16, dtype=np.uint8).reshape(4, 4)] * 3)
    stained = grey.copy()
    stained[..., 2] = 200
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(stained).save(tmp_path / "stained.png")
    assert not is_colour(tmp_path / "grey.png")
    assert is_colour(tmp_path / "stained.png")


def test_markdown_leaves_blank_the_error_shares_of_runs_written_before_them():
    result = {
        "config": {"labels": [1]},
        "dataset": {"name": "dsb2018", "kind": "instance", "test": 2},
        "scores": {"scratch": {"1": {"dice": 0.8, "iou": 0.7, "object_f1": 0.6}}},
    }
    text = render_markdown(result)
    assert "| scratch | 0.600 |" in text
    assert "| scratch |  |" in text  # objects_merged, not counted by that run


def test_parse_args_refuses_what_would_fail_only_after_loading_or_pretraining(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data", str(tmp_path)])  # a folder, but not a dataset
    assert "neither a dsb2018 folder" in capsys.readouterr().err
    for flags, words in [
        (["--jobs", "-3"], "--jobs must be 0"),
        (["--limit-test", "0"], "--limit-test must be at least 1"),
        (["--pretrain-minutes", "0"], "--pretrain-minutes must be > 0"),
        (["--methods", "masked", "--pretrained", str(tmp_path / "gone.pt")], "is not a file"),
        (["--device", "cuda:7"], "cuda:7"),
    ]:
        with pytest.raises(SystemExit):
            parse_args(["--data", _stub(tmp_path), *flags])
        assert words in capsys.readouterr().err, flags


def test_more_labels_than_images_to_label_is_an_error_before_any_training(tmp_path, capsys):
    root = _make_dsb(tmp_path / "dsb")
    out = tmp_path / "r.json"
    assert main(_tiny_args(root, out, "1,99", "scratch")) == 2
    assert "asks for 99 labeled images but dsb2018 has 5" in capsys.readouterr().err
    assert not out.exists()
