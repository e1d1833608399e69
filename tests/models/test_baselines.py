"""Otsu and the random-forest pixel classifier on tiny synthetic images."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from models.baselines import OtsuBaseline, PixelClassifier, filter_features, normalize_percentile
from models.metrics import segmentation_scores


def _discs(seed: int = 0, size: int = 64, bright: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Three separate noisy discs; returns (uint8 image, instance labels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((size, size), np.int32)
    for i, (cy, cx) in enumerate([(16, 16), (16, 46), (46, 30)], start=1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 8**2] = i
    fg = labels > 0
    image = np.where(fg, 180.0, 40.0) if bright else np.where(fg, 40.0, 180.0)
    image = image + rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def test_otsu_finds_separate_bright_discs():
    image, labels = _discs()
    pred = OtsuBaseline("instance").predict(image)
    assert segmentation_scores(pred, labels, kind="instance")["object_f1"] == 1.0


def test_otsu_minority_polarity_handles_dark_objects():
    image, labels = _discs(bright=False)
    pred = OtsuBaseline("instance").predict(image)
    assert segmentation_scores(pred, labels, kind="instance")["object_f1"] == 1.0


def test_otsu_fit_picks_dark_polarity_when_objects_are_the_majority():
    image, labels = _discs()
    labels = np.where(labels > 0, 0, 1)  # the large background is now the class of interest
    otsu = OtsuBaseline("semantic").fit([image], [labels])
    assert otsu.polarity == "dark"
    assert segmentation_scores(otsu.predict(image), labels, kind="semantic")["dice"] > 0.99


def test_otsu_returns_empty_on_a_constant_image():
    assert OtsuBaseline("instance").predict(np.full((8, 8), 7, np.uint8)).max() == 0


def test_filter_features_shape_and_raw_channel():
    image = np.random.default_rng(0).random((20, 24)).astype(np.float32)
    feats = filter_features(image, sigmas=(1.0, 2.0))
    assert feats.shape == (20, 24, 1 + 8 * 2)
    np.testing.assert_array_equal(feats[..., 0], image)
    np.testing.assert_allclose(feats[..., 1], ndi.gaussian_filter(image, 1.0), rtol=1e-5)


def test_filter_features_eigenvalues_are_ordered():
    image = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    feats = filter_features(image, sigmas=(1.0,))
    # channels: raw, gauss, log, gradmag, dog, st_max, st_min, hess_max, hess_min
    assert (feats[..., 5] >= feats[..., 6] - 1e-6).all()
    assert (feats[..., 7] >= feats[..., 8] - 1e-6).all()


def test_normalize_percentile_maps_8_and_16_bit_alike():
    image, _ = _discs()
    a = normalize_percentile(image)
    b = normalize_percentile(image.astype(np.uint16) * 257)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_pixel_classifier_learns_texture_that_a_threshold_cannot():
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.int32)
    mask[:, 32:] = 1
    # same mean brightness; the right half is noisy, the left smooth
    image = np.where(mask == 1, 128 + rng.normal(0, 40, mask.shape), 128.0)
    image = np.clip(image, 0, 255).astype(np.uint8)
    rf = PixelClassifier("semantic", n_estimators=20, samples_per_image=2000, sigmas=(1.0, 2.0))
    rf.fit([image], [mask])
    pred = rf.predict(image)
    assert segmentation_scores(pred, mask, kind="semantic")["dice"] > 0.9
    assert rf.predict_proba(image).shape == (2, 64, 64)


def test_pixel_classifier_instance_output_is_connected_components():
    image, labels = _discs()
    rf = PixelClassifier("instance", n_estimators=10, samples_per_image=2000, sigmas=(1.0, 2.0))
    pred = rf.fit([image], [labels]).predict(image)
    assert segmentation_scores(pred, labels, kind="instance")["object_f1"] == 1.0


def test_pixel_classifier_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        PixelClassifier("panoptic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sigmas"):
        PixelClassifier("semantic", sigmas=(0.0,))
    with pytest.raises(ValueError, match="shape"):
        PixelClassifier("semantic").fit([np.zeros((4, 4))], [np.zeros((4, 5), int)])
    with pytest.raises(RuntimeError, match="before fit"):
        PixelClassifier("semantic").predict(np.zeros((4, 4)))
