from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import Checkpoint, TrainConfig, predict, train


@pytest.fixture
def tiny_model(nuclei: tuple[list[np.ndarray], list[np.ndarray]]) -> Checkpoint:
    images, masks = nuclei
    config = TrainConfig(kind="instance", steps=2, batch_size=1, crop_size=32, device="cpu")
    return train(images, masks, config)


def test_checkpoint_round_trip_gives_identical_outputs(
    tmp_path: Path, tiny_model: Checkpoint, nuclei: tuple[list[np.ndarray], list[np.ndarray]]
) -> None:
    tiny_model.save(tmp_path / "m.pt")
    loaded = Checkpoint.load(tmp_path / "m.pt")
    assert loaded.config == tiny_model.config
    before = predict(tiny_model, nuclei[0][0], device="cpu")
    after = predict(loaded, nuclei[0][0], device="cpu")
    np.testing.assert_array_equal(before.labels, after.labels)
    np.testing.assert_array_equal(before.confidence, after.confidence)


def test_checkpoint_save_leaves_no_temporary_files(tmp_path: Path, tiny_model: Checkpoint) -> None:
    tiny_model.save(tmp_path / "m.pt")
    tiny_model.save(tmp_path / "m.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_checkpoint_config_records_model_description(tiny_model: Checkpoint) -> None:
    config = tiny_model.config
    assert config["kind"] == "instance" and config["in_channels"] == 1
    assert config["encoder"] == "small" and config["init"] == {"type": "scratch"}
    assert {"dice", "iou", "object_f1"} <= set(config["metrics"])
    assert len(config["training_set"]) == 64


def test_checkpoint_load_rejects_foreign_file(tmp_path: Path) -> None:
    torch.save({"weights": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a maskloop checkpoint"):
        Checkpoint.load(tmp_path / "x.pt")


def test_checkpoint_rejects_config_that_is_not_json() -> None:
    with pytest.raises(TypeError):
        Checkpoint({"role": "segmenter", "bad": object()}, {})


def test_checkpoint_module_is_cached(tiny_model: Checkpoint) -> None:
    assert tiny_model.module("cpu") is tiny_model.module("cpu")
