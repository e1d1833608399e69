from __future__ import annotations

import numpy as np
import pytest
import torch

from models import Checkpoint, embed, predict
from models.inference import predict_probabilities, prepare_for_inference
from models.networks import build_segmenter


def _random_model(kind: str = "instance", out_channels: int = 3) -> Checkpoint:
    torch.manual_seed(0)
    net = build_segmenter("small", 1, out_channels)
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is exercised
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    config = {
        "role": "segmenter",
        "encoder": "small",
        "in_channels": 1,
        "out_channels": out_channels,
        "kind": kind,
    }
    return Checkpoint(config, net.state_dict())


def test_prepare_for_inference_matches_eval_network() -> None:
    net = _random_model().build_segmenter().eval()
    fast = prepare_for_inference(net, torch.device("cpu"))
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), atol=1e-5, rtol=1e-4)


def test_tiled_inference_matches_untiled_on_small_image() -> None:
    net = _random_model().module("cpu")
    image = np.random.default_rng(0).random((1, 96, 80), dtype=np.float32)
    whole = predict_probabilities(net, image)
    tiled = predict_probabilities(net, image, tile=64, overlap=32)
    assert np.abs(whole - tiled).mean() < 0.02
    assert (whole.argmax(0) == tiled.argmax(0)).mean() > 0.97


@pytest.mark.parametrize("tta", [False, True])
def test_predict_returns_labels_and_unit_confidence(tta: bool) -> None:
    image = np.random.default_rng(0).integers(0, 65535, (45, 61)).astype(np.uint16)
    prediction = predict(_random_model(), image, tta=tta, device="cpu")
    assert prediction.labels.shape == (45, 61) and prediction.labels.dtype == np.int32
    assert prediction.confidence.dtype == np.float32
    assert 0 <= prediction.confidence.min() <= prediction.confidence.max() <= 1


def test_predict_min_object_confidence_only_removes_objects() -> None:
    image = np.random.default_rng(1).random((64, 64)).astype(np.float32)
    model = _random_model()
    every = predict(model, image, device="cpu")
    none = predict(model, image, device="cpu", min_object_confidence=1.0)
    assert every.labels.max() > 0 and none.labels.max() == 0
    np.testing.assert_array_equal(every.confidence, none.confidence)


def test_predict_semantic_returns_class_indices() -> None:
    prediction = predict(_random_model("semantic", 4), np.zeros((32, 32)), device="cpu")
    assert prediction.labels.max() < 4


def test_embed_returns_pooled_encoder_features() -> None:
    vector = embed(_random_model(), np.random.default_rng(0).random((40, 50)), device="cpu")
    assert vector.shape == (128,) and vector.dtype == np.float32


def test_predict_rejects_pretext_checkpoint() -> None:
    checkpoint = Checkpoint(
        {"role": "pretext", "encoder": "small", "in_channels": 1, "out_channels": 1}, {}
    )
    with pytest.raises(ValueError, match="pretext checkpoint"):
        predict(checkpoint, np.zeros((8, 8)))


def test_embed_works_on_pretext_checkpoint(
    nuclei: tuple[list[np.ndarray], list[np.ndarray]],
) -> None:
    from models import PretrainConfig, pretrain

    config = PretrainConfig(method="masked", steps=1, batch_size=1, crop_size=32, device="cpu")
    encoder = pretrain(nuclei[0], config)
    assert embed(encoder, nuclei[0][0], device="cpu").shape == (128,)


def test_predict_averages_an_ensemble_of_models() -> None:
    image = np.random.default_rng(2).random((40, 48)).astype(np.float32)
    model = _random_model()
    alone = predict(model, image, device="cpu")
    twice = predict([model, model], image, device="cpu")
    np.testing.assert_array_equal(alone.labels, twice.labels)
    np.testing.assert_allclose(alone.confidence, twice.confidence, atol=1e-6)
    torch.manual_seed(1)
    other = Checkpoint(model.config, build_segmenter("small", 1, 3).state_dict())
    mixed = predict([model, other], image, device="cpu", min_object_confidence=0)
    assert mixed.labels.shape == image.shape


def test_predict_rejects_models_that_predict_different_things() -> None:
    with pytest.raises(ValueError, match="predict different things"):
        predict([_random_model(), _random_model("semantic", 4)], np.zeros((8, 8)))
    with pytest.raises(ValueError, match="at least one model"):
        predict([], np.zeros((8, 8)))


def test_predict_refuses_to_average_instance_models_of_different_targets() -> None:
    with pytest.raises(ValueError, match="different instance targets \\(boundary and core\\)"):
        predict([_random_model(), _random_model(out_channels=4)], np.zeros((8, 8)))


def test_predict_with_a_core_model_returns_instance_labels() -> None:
    image = np.random.default_rng(3).random((40, 48)).astype(np.float32)
    model = _random_model(out_channels=4)
    for tta in (False, True):
        result = predict([model, model], image, device="cpu", tta=tta, min_object_confidence=0)
        assert result.labels.shape == image.shape and result.labels.dtype == np.int32
        assert 0 <= result.confidence.min() <= result.confidence.max() <= 1
