"""Polarity normalisation: bright-background images are inverted so objects are bright on dark."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import Checkpoint, TrainConfig, predict, train
from models.data import (
    augment_pair,
    build_augmentation,
    has_bright_background,
    normalize_polarity,
    percentile_normalize,
    polarity_of,
    prepare_image,
)
from models.data.augment import RandomInvert
from models.inference import labels_from_probabilities, predict_probabilities
from models.networks import build_segmenter


def _bright_on_dark(channels: int = 1) -> np.ndarray:
    """Fluorescence-like: a few bright discs on a dark noisy background. Shape: (64, 64[, C])."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    objects = ((yy - 20) ** 2 + (xx - 20) ** 2 < 64) | ((yy - 44) ** 2 + (xx - 40) ** 2 < 81)
    image = objects * 180.0 + rng.normal(20, 5, (64, 64))
    if channels > 1:
        image = np.stack([image * f for f in (1.0, 0.8, 0.9)[:channels]], axis=-1)
    return image.clip(0, 255).astype(np.uint8)


def _dark_on_bright(channels: int = 1) -> np.ndarray:
    """Brightfield-like: the same discs, dark on a bright background."""
    return (255 - _bright_on_dark(channels)).astype(np.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_normalize_polarity_inverts_dark_objects_on_bright_background(channels: int) -> None:
    normalised = percentile_normalize(np.moveaxis(np.atleast_3d(_dark_on_bright(channels)), -1, 0))
    assert has_bright_background(normalised)
    np.testing.assert_allclose(normalize_polarity(normalised, "auto"), 1 - normalised)


@pytest.mark.parametrize("channels", [1, 3])
def test_normalize_polarity_keeps_bright_objects_on_dark_background(channels: int) -> None:
    normalised = percentile_normalize(np.moveaxis(np.atleast_3d(_bright_on_dark(channels)), -1, 0))
    assert not has_bright_background(normalised)
    assert normalize_polarity(normalised, "auto") is normalised


def test_prepare_image_auto_makes_both_polarities_alike() -> None:
    bright = prepare_image(_bright_on_dark(), 1, "auto")
    dark = prepare_image(_dark_on_bright(), 1, "auto")
    assert np.abs(bright - dark).mean() < 0.02


def test_prepare_image_with_rgba_in_three_channels_drops_alpha_then_inverts() -> None:
    rgba = np.concatenate([_dark_on_bright(3), np.full((64, 64, 1), 255, np.uint8)], axis=-1)
    prepared = prepare_image(rgba, 3, "auto")
    assert prepared.shape == (3, 64, 64)
    np.testing.assert_allclose(prepared, 1 - prepare_image(rgba, 3, "none"))


def test_normalize_polarity_rejects_unknown_rule() -> None:
    with pytest.raises(ValueError, match="polarity must be one of"):
        normalize_polarity(np.zeros((1, 4, 4), np.float32), "invert")


def test_train_config_rejects_unknown_polarity() -> None:
    with pytest.raises(ValueError, match="polarity must be one of"):
        TrainConfig(polarity="flip")


def test_polarity_of_reads_none_for_configs_without_the_key() -> None:
    assert polarity_of({"normalisation": {"method": "percentile"}}) == "none"
    assert polarity_of({}) == "none"
    assert polarity_of({"normalisation": {"polarity": "auto"}}) == "auto"


def test_old_checkpoint_without_polarity_predicts_on_unflipped_input() -> None:
    torch.manual_seed(0)
    net = build_segmenter("small", 1, 3)
    old_config = {
        "role": "segmenter",
        "encoder": "small",
        "in_channels": 1,
        "out_channels": 3,
        "kind": "instance",
        "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8, "per_channel": True},
    }
    old = Checkpoint(old_config, net.state_dict())
    image = _dark_on_bright()
    probs = predict_probabilities(old.module("cpu"), percentile_normalize(image[None]))
    got = predict(old, image, device="cpu").confidence
    np.testing.assert_allclose(got, labels_from_probabilities(probs, "instance").confidence)


def test_new_checkpoint_records_polarity_and_predicts_on_flipped_input(
    nuclei: tuple[list[np.ndarray], list[np.ndarray]],
) -> None:
    images, masks = nuclei
    config = TrainConfig(kind="instance", steps=1, batch_size=1, crop_size=32, device="cpu")
    model = train(images, masks, config)
    assert model.config["normalisation"]["polarity"] == "auto"
    inverted = (255 - images[0]).astype(np.uint8)
    probs = predict_probabilities(model.module("cpu"), prepare_image(inverted, 1, "auto"))
    got = predict(model, inverted, device="cpu").confidence
    np.testing.assert_allclose(got, labels_from_probabilities(probs, "instance").confidence)


def test_random_invert_inverts_image_and_leaves_mask() -> None:
    image, mask = torch.rand(1, 8, 8), torch.randint(0, 3, (8, 8))
    out_image, out_mask = augment_pair(RandomInvert(), image, mask)
    torch.testing.assert_close(out_image, 1 - image)
    assert torch.equal(out_mask, mask)


def test_build_augmentation_rejects_bad_invert_probability() -> None:
    with pytest.raises(ValueError, match="invert_probability"):
        build_augmentation("default", invert_probability=1.5)
