from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from models.cli import app
from models.io import read_label, write_label

runner = CliRunner()
FAST_PRETRAIN = ["--steps", "2", "--batch-size", "1", "--crop-size", "32", "--device", "cpu"]
FAST_TRAIN = [
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--batch-size",
    "1",
    "--crop-size",
    "32",
    "--device",
    "cpu",
]


@pytest.fixture
def folders(tmp_path: Path, nuclei_factory: Callable) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for seed in range(3):
        image, labels = nuclei_factory(seed)
        Image.fromarray(image).save(images / f"cell{seed}.png")
        write_label(masks / f"cell{seed}.png", labels)
    return images, masks


def test_cli_runs_pretrain_train_predict_end_to_end(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    enc, model, out = tmp_path / "enc.pt", tmp_path / "model.pt", tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "pretrain",
            "--images",
            str(images),
            "--out",
            str(enc),
            "--method",
            "denoise",
            *FAST_PRETRAIN,
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "train",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--kind",
            "instance",
            "--init",
            str(enc),
            "--out",
            str(model),
            *FAST_TRAIN,
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(model),
            "--images",
            str(images),
            "--out",
            str(out),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["cell0.png", "cell1.png", "cell2.png"]
    assert read_label(out / "cell0.png").shape == (64, 64)
    # --model twice averages the models; one model averaged with itself predicts the same.
    twice = tmp_path / "twice"
    args = ["predict", "--model", str(model), "--model", str(model), "--images", str(images)]
    result = runner.invoke(app, [*args, "--out", str(twice), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    for name in ("cell0.png", "cell1.png", "cell2.png"):
        assert (read_label(twice / name) == read_label(out / name)).all()


def test_cli_fails_on_missing_image_directory(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "pretrain",
            "--images",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "e.pt"),
            *FAST_PRETRAIN,
        ],
    )
    assert result.exit_code != 0 and "not a directory" in result.output


def test_cli_fails_on_unknown_method(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    result = runner.invoke(
        app,
        [
            "pretrain",
            "--images",
            str(folders[0]),
            "--out",
            str(tmp_path / "e.pt"),
            "--method",
            "jigsaw",
        ],
    )
    assert result.exit_code != 0 and "unknown method 'jigsaw'" in result.output


def test_cli_fails_when_masks_do_not_match_images(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    (masks / "cell1.png").rename(masks / "other.png")
    result = runner.invoke(
        app,
        [
            "train",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--kind",
            "instance",
            "--out",
            str(tmp_path / "m.pt"),
            *FAST_TRAIN,
        ],
    )
    assert result.exit_code != 0 and "no mask with the stem" in result.output
    assert "cell1" in result.output


def test_cli_fails_on_mask_of_wrong_size(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    images, masks = folders
    write_label(masks / "cell2.png", np.zeros((30, 64), np.uint8))
    result = runner.invoke(
        app,
        [
            "train",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--kind",
            "instance",
            "--out",
            str(tmp_path / "m.pt"),
            *FAST_TRAIN,
        ],
    )
    assert result.exit_code != 0 and "mask cell2 is 64x30, its image 64x64" in result.output


def test_cli_fails_on_unknown_kind(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    images, masks = folders
    result = runner.invoke(
        app,
        [
            "train",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--kind",
            "panoptic",
            "--out",
            str(tmp_path / "m.pt"),
        ],
    )
    assert result.exit_code != 0 and "unknown kind 'panoptic'" in result.output


def test_cli_predict_refuses_pretraining_checkpoint(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    enc = tmp_path / "enc.pt"
    runner.invoke(app, ["pretrain", "--images", str(folders[0]), "--out", str(enc), *FAST_PRETRAIN])
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(enc),
            "--images",
            str(folders[0]),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code != 0 and "pretraining checkpoint" in result.output


def test_module_entry_point_shows_commands() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "models", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("pretrain", "train", "predict"))


def test_cli_explains_semantic_masks_that_are_not_class_indices(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    for path in masks.iterdir():
        write_label(path, (read_label(path) > 0).astype(np.uint8) * 255)
    result = runner.invoke(
        app,
        [
            "train",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--kind",
            "semantic",
            "--out",
            str(tmp_path / "m.pt"),
            *FAST_TRAIN,
        ],
    )
    assert result.exit_code != 0 and "class indices 0..K-1" in result.output


def test_cli_predict_rejects_min_object_confidence_outside_unit_interval(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    model = tmp_path / "model.pt"
    images, masks = folders
    train = ["train", "--images", str(images), "--masks", str(masks), "--kind", "instance"]
    trained = runner.invoke(app, [*train, "--init", "none", "--out", str(model), *FAST_TRAIN])
    assert trained.exit_code == 0, trained.output
    args = ["predict", "--model", str(model), "--images", str(images)]
    bad = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--min-object-confidence", "2"])
    assert bad.exit_code != 0 and "--min-object-confidence" in bad.output
    every = runner.invoke(
        app, [*args, "--out", str(tmp_path / "b"), "--min-object-confidence", "0"]
    )
    assert every.exit_code == 0, every.output
    assert len(list((tmp_path / "b").glob("*.png"))) == 3


def test_cli_train_semantic_matches_class_shares_on_unlabeled_images(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    for path in masks.iterdir():
        write_label(path, (read_label(path) > 0).astype(np.uint8))
    model = tmp_path / "m.pt"
    args = ["train", "--images", str(images), "--masks", str(masks), "--kind", "semantic"]
    missing = runner.invoke(
        app, [*args, "--out", str(model), "--unlabeled", str(tmp_path / "nope"), *FAST_TRAIN]
    )
    assert missing.exit_code != 0 and "nope" in missing.output
    result = runner.invoke(
        app, [*args, "--out", str(model), "--unlabeled", str(images), *FAST_TRAIN]
    )
    assert result.exit_code == 0, result.output
    from models import Checkpoint

    assert Checkpoint.load(model).config["calibration"]["images"] == 3


def test_cli_train_weighs_contacts_when_asked_and_rejects_a_negative_weight(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    model = tmp_path / "m.pt"
    args = ["train", "--images", str(images), "--masks", str(masks), "--kind", "instance"]
    bad = runner.invoke(app, [*args, "--out", str(model), "--contact-weight", "-1", *FAST_TRAIN])
    assert bad.exit_code != 0 and "contact_weight must be in [0, 100]" in bad.output
    assert not model.exists()
    good = runner.invoke(app, [*args, "--out", str(model), "--contact-weight", "5", *FAST_TRAIN])
    assert good.exit_code == 0, good.output
    from models import Checkpoint

    assert Checkpoint.load(model).config["hyperparameters"]["contact_weight"] == 5.0


def test_cli_train_learns_the_core_when_asked_and_rejects_an_unknown_target(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    model = tmp_path / "m.pt"
    args = ["train", "--images", str(images), "--masks", str(masks), "--kind", "instance"]
    bad = runner.invoke(app, [*args, "--out", str(model), "--instance-target", "x", *FAST_TRAIN])
    assert bad.exit_code != 0 and "unknown --instance-target 'x'; use boundary or core" in (
        bad.output
    )
    assert not model.exists()
    good = runner.invoke(
        app, [*args, "--out", str(model), "--instance-target", "core", *FAST_TRAIN]
    )
    assert good.exit_code == 0, good.output
    from models import Checkpoint

    config = Checkpoint.load(model).config
    assert config["out_channels"] == 4 and config["hyperparameters"]["instance_target"] == "core"
    out = tmp_path / "labels"
    predicted = runner.invoke(
        app, ["predict", "--model", str(model), "--images", str(images), "--out", str(out)]
    )
    assert predicted.exit_code == 0, predicted.output
    assert len(list(out.glob("*.png"))) == 3


def _invoke(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def model_file(tmp_path: Path, folders: tuple[Path, Path]) -> Path:
    images, masks = folders
    model = tmp_path / "model.pt"
    result = _invoke(
        "train", "--images", images, "--masks", masks, "--kind", "instance", "--out", model,
        *FAST_TRAIN,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return model


@pytest.mark.parametrize("device", ["tpu", "cuda:abc", "cuda:7", "mps"])
def test_cli_refuses_a_device_it_lacks_before_any_work(
    tmp_path: Path, folders: tuple[Path, Path], model_file: Path, device: str
) -> None:
    import torch

    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU")
    images, masks = folders
    out, folder = tmp_path / "new.pt", tmp_path / "labels"
    for result in (
        _invoke("pretrain", "--images", images, "--out", out, "--steps", 2, "--device", device),
        _invoke(
            "train", "--images", images, "--masks", masks, "--kind", "instance",
            "--out", out, "--epochs", 1, "--device", device,
        ),
        _invoke("predict", "--model", model_file, "--images", images, "--out", folder,
                "--device", device),
    ):  # fmt: skip
        assert result.exit_code == 2 and "--device" in result.output, result.output
    assert not out.exists() and not folder.exists()


def test_cli_refuses_an_endless_budget(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    result = _invoke(
        "pretrain", "--images", folders[0], "--out", tmp_path / "e.pt", "--minutes", "inf"
    )
    assert result.exit_code == 2 and "finite" in result.output


def test_cli_refuses_an_out_it_cannot_write_before_training(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "a-file").write_text("x")
    for out, words in ((tmp_path / "taken", "is a directory"), (tmp_path / "a-file" / "e.pt", "")):
        result = _invoke("pretrain", "--images", folders[0], "--out", out, *FAST_PRETRAIN)
        assert result.exit_code == 2 and words in result.output, result.output
        assert "pretrain masked" not in result.output  # no progress bar: nothing was trained


def test_cli_predict_never_writes_over_its_images(
    folders: tuple[Path, Path], model_file: Path
) -> None:
    images = folders[0]
    before = {p.name: p.read_bytes() for p in images.iterdir()}
    result = _invoke("predict", "--model", model_file, "--images", images, "--out", images)
    assert result.exit_code == 2 and "would replace the images" in result.output
    assert {p.name: p.read_bytes() for p in images.iterdir()} == before


def test_cli_train_refuses_images_of_two_channel_layouts(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    images, masks = folders
    stack = np.random.default_rng(0).integers(0, 255, (64, 64, 2), dtype=np.uint8)
    import tifffile

    tifffile.imwrite(images / "two.tif", stack, photometric="minisblack", planarconfig="contig")
    write_label(masks / "two.png", np.zeros((64, 64), np.uint8))
    result = _invoke(
        "train", "--images", images, "--masks", masks, "--kind", "instance",
        "--out", tmp_path / "m.pt", *FAST_TRAIN,
    )  # fmt: skip
    assert result.exit_code == 2 and "channel" in result.output, result.output


def test_cli_explains_damaged_checkpoints(
    tmp_path: Path, folders: tuple[Path, Path], model_file: Path
) -> None:
    from models.checkpoint import Checkpoint

    model = Checkpoint.load(model_file)
    lacking = tmp_path / "lacking.pt"
    Checkpoint({"role": "segmenter"}, model.state_dict).save(lacking)
    misfit = tmp_path / "misfit.pt"
    Checkpoint(
        model.config, {"encoder.nothing": model.state_dict[next(iter(model.state_dict))]}
    ).save(misfit)
    images, masks = folders
    result = _invoke("predict", "--model", lacking, "--images", images, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "damaged" in result.output, result.output
    result = _invoke(
        "train", "--images", images, "--masks", masks, "--kind", "instance", "--init", misfit,
        "--out", tmp_path / "m.pt", *FAST_TRAIN,
    )  # fmt: skip
    assert result.exit_code == 2 and "do not fit" in result.output, result.output


def test_cli_never_writes_a_checkpoint_over_an_image(folders: tuple[Path, Path]) -> None:
    images = folders[0]
    before = (images / "cell0.png").read_bytes()
    result = _invoke("pretrain", "--images", images, "--out", images / "cell0.png", *FAST_PRETRAIN)
    assert result.exit_code == 2 and "names an image file" in result.output
    assert (images / "cell0.png").read_bytes() == before


def test_cli_train_checks_the_unlabeled_pool_before_training(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    import tifffile

    images, masks = folders
    pool = tmp_path / "pool"
    pool.mkdir()
    tifffile.imwrite(pool / "two.tif", np.zeros((64, 64, 2), np.uint8), planarconfig="contig")
    result = _invoke(
        "train", "--images", images, "--masks", masks, "--kind", "semantic",
        "--unlabeled", pool, "--num-classes", 8, "--out", tmp_path / "m.pt", *FAST_TRAIN,
    )  # fmt: skip
    assert result.exit_code == 2 and "--unlabeled: two has 2 channels" in result.output, (
        result.output
    )
    assert "train semantic" not in result.output  # no progress bar: nothing was trained


def test_cli_says_when_the_checkpoint_cannot_be_written(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    """A full disk, simulated with a file size limit (the kernel then fails the write)."""
    import resource
    import subprocess
    import sys

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    out = tmp_path / "enc.pt"
    result = subprocess.run(
        [Path(sys.executable).parent / "maskloop", "pretrain", "--images", folders[0],
         "--out", out, *map(str, FAST_PRETRAIN)],
        capture_output=True, text=True, check=False, preexec_fn=small_files, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "could not write" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.glob("*enc.pt*")) == []  # no partial file left behind
