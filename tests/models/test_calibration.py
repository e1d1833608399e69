"""Prior matching: class offsets fitted on unlabeled images (models.calibration)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import Checkpoint, TrainConfig, predict, train
from models.calibration import MAX_OFFSET, apply_offsets, class_shares, fit_offsets

Pairs = tuple[list[np.ndarray], list[np.ndarray]]


def _log_probs(logits: np.ndarray) -> np.ndarray:
    """(N, K) logits -> log-softmax."""
    return torch.from_numpy(logits).log_softmax(dim=1).numpy()


def _argmax_shares(log_probs: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    k = log_probs.shape[1]
    return np.bincount((log_probs + offsets).argmax(axis=1), minlength=k) / len(log_probs)


@pytest.mark.parametrize("shares", [[0.8, 0.2], [0.5, 0.3, 0.2], [0.6, 0.1, 0.25, 0.05]])
def test_fitted_offsets_give_each_class_its_labeled_share(shares: list[float]) -> None:
    rng = np.random.default_rng(0)
    # A network that favours class 0 everywhere: raw argmax shares are far from the target.
    logits = rng.normal(0, 1.5, (20_000, len(shares))).astype(np.float32)
    logits[:, 0] += 1.0
    log_probs = _log_probs(logits)
    offsets = fit_offsets(log_probs, np.array(shares))
    assert offsets[0] == 0
    np.testing.assert_allclose(_argmax_shares(log_probs, offsets), shares, atol=0.01)


def test_a_class_absent_from_the_labels_keeps_offset_zero() -> None:
    log_probs = _log_probs(np.random.default_rng(1).normal(size=(1000, 3)).astype(np.float32))
    offsets = fit_offsets(log_probs, np.array([0.7, 0.3, 0.0]))
    assert offsets[2] == 0


def test_offsets_are_bounded_when_no_offset_can_reach_the_share() -> None:
    # Every pixel is class 0 by a margin of 20 nats: no sane offset gives class 1 its 30 %.
    logits = np.zeros((1000, 2), np.float32)
    logits[:, 0] = 20
    offsets = fit_offsets(_log_probs(logits), np.array([0.7, 0.3]))
    assert offsets[1] == pytest.approx(MAX_OFFSET)


def test_apply_offsets_is_softmax_of_shifted_logits() -> None:
    logits = torch.randn(3, 8, 8)
    offsets = [0.0, 0.5, -1.0]
    expected = (logits + torch.tensor(offsets)[:, None, None]).softmax(dim=0).numpy()
    got = apply_offsets(logits.softmax(dim=0).numpy(), offsets)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_class_shares_ignore_the_ignore_label() -> None:
    mask = np.array([[0, 0, 1, 255]], np.uint8)
    np.testing.assert_allclose(class_shares([mask], 2), [2 / 3, 1 / 3])


def _semantic(nuclei: Pairs) -> Pairs:
    images, masks = nuclei
    return images, [(m > 0).astype(np.uint8) for m in masks]


def _config(**overrides: object) -> TrainConfig:
    tiny: dict = {"steps": 4, "batch_size": 2, "crop_size": 32, "device": "cpu"}
    return TrainConfig(**{"kind": "semantic", **tiny, **overrides})  # type: ignore[arg-type]


def test_semantic_training_with_unlabeled_images_records_and_applies_offsets(
    nuclei: Pairs, tmp_path: Path
) -> None:
    images, masks = _semantic(nuclei)
    model = train(images[:2], masks[:2], _config(), unlabeled=images)
    calibration = model.config["calibration"]
    assert calibration["method"] == "prior" and calibration["images"] == 3
    assert calibration["shares"][1] == pytest.approx(float(np.mean(masks[:2])), abs=1e-4)
    # Four steps leave the network far from the label shares; the offsets bring it back.
    raw = predict(model, images[2], calibrated=False).labels
    calibrated = predict(model, images[2]).labels
    truth_share = float(masks[2].mean())
    assert abs(calibrated.mean() - truth_share) < abs(raw.mean() - truth_share)
    path = tmp_path / "model.pt"
    model.save(path)
    np.testing.assert_array_equal(predict(Checkpoint.load(path), images[2]).labels, calibrated)


@pytest.mark.parametrize(
    ("overrides", "unlabeled"),
    [({"calibration": "none"}, True), ({"kind": "instance"}, True), ({}, False)],
)
def test_no_offsets_without_prior_calibration_semantic_kind_or_unlabeled_images(
    nuclei: Pairs, overrides: dict, unlabeled: bool
) -> None:
    images, masks = _semantic(nuclei) if overrides.get("kind") != "instance" else nuclei
    model = train(
        images[:2], masks[:2], _config(**overrides), unlabeled=images if unlabeled else None
    )
    assert model.config["calibration"] is None
