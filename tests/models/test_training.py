from __future__ import annotations

import numpy as np
import pytest
import torch

from models import PretrainConfig, Progress, TrainConfig, pretrain, train
from models.training.validation import MAX_TRAIN_VALIDATION, split_validation

Pairs = tuple[list[np.ndarray], list[np.ndarray]]


def _config(**overrides: object) -> TrainConfig:
    values: dict = {
        "kind": "instance",
        "steps": 2,
        "batch_size": 1,
        "crop_size": 32,
        "device": "cpu",
    }
    return TrainConfig(**{**values, **overrides})  # type: ignore[arg-type]


def _pretrain_config(**overrides: object) -> PretrainConfig:
    values: dict = {"steps": 2, "batch_size": 1, "crop_size": 32, "device": "cpu"}
    return PretrainConfig(**{**values, **overrides})  # type: ignore[arg-type]


def test_train_reports_progress_and_validation(nuclei: Pairs) -> None:
    events: list[Progress] = []
    checkpoint = train(
        *nuclei, _config(steps=4, steps_per_epoch=2, log_every=1), on_progress=events.append
    )
    phases = [e.phase for e in events]
    assert phases.count("train") == 4 and phases.count("validate") == 2
    assert events[-1].fraction == 1.0 and "val_dice" in events[-1].metrics
    assert checkpoint.config["validation"] == "holdout" and checkpoint.config["num_val_images"] == 1


def test_train_keep_last_returns_final_weights_without_early_stop(nuclei: Pairs) -> None:
    images, masks = nuclei
    events: list[Progress] = []
    config = _config(
        steps=6, steps_per_epoch=1, patience=1, keep="last", schedule="cosine", log_every=1
    )
    checkpoint = train(
        images[:2],
        masks[:2],
        config,
        val_images=images[2:],
        val_masks=masks[2:],
        on_progress=events.append,
    )
    # patience=1 would stop a "best" run at the first epoch without gain; "last" runs it out.
    assert checkpoint.config["steps"] == 6 and not checkpoint.config["stopped_early"]
    last = [e.metrics for e in events if e.phase == "validate"][-1]
    assert checkpoint.config["metrics"]["dice"] == last["val_dice"]


def test_cosine_schedule_decays_to_zero() -> None:
    from models.training.common import cosine_factor

    assert cosine_factor(0.0) == 1.0 and cosine_factor(1.0) < 1e-12
    assert cosine_factor(0.5) == pytest.approx(0.5)
    assert cosine_factor(2.0) == cosine_factor(1.0)


def test_train_with_contact_weight_records_it_and_predicts_objects(nuclei: Pairs) -> None:
    from models import predict

    checkpoint = train(*nuclei, _config(steps=3, contact_weight=5.0))
    assert checkpoint.config["hyperparameters"]["contact_weight"] == 5.0
    assert (
        predict(checkpoint, nuclei[0][0], min_object_confidence=0.0).labels.shape
        == (nuclei[0][0].shape[:2])
    )


def test_train_with_core_target_gives_a_four_output_network_that_predicts_labels(
    nuclei: Pairs,
) -> None:
    from models import predict

    checkpoint = train(*nuclei, _config(steps=3, instance_target="core", contact_weight=5.0))
    assert checkpoint.config["out_channels"] == 4
    assert checkpoint.config["hyperparameters"]["instance_target"] == "core"
    net = checkpoint.build_segmenter().eval()
    with torch.no_grad():
        assert net(torch.zeros(1, 1, 64, 64)).shape == (1, 4, 64, 64)
    labels = predict(checkpoint, nuclei[0][0], min_object_confidence=0.0, device="cpu").labels
    assert labels.shape == nuclei[0][0].shape[:2] and labels.dtype == np.int32


def test_train_config_gives_instance_networks_a_fourth_output_for_the_core() -> None:
    assert _config(instance_target="core").out_channels == 4
    assert _config().out_channels == 3 and _config().instance_target == "boundary"
    assert _config(kind="semantic", num_classes=5, instance_target="core").out_channels == 5


def test_train_stops_when_cancelled(nuclei: Pairs) -> None:
    checkpoint = train(*nuclei, _config(steps=1000), should_stop=lambda: True)
    assert checkpoint.config["cancelled"] and checkpoint.config["steps"] == 0


def test_a_time_budget_shorter_than_the_set_up_still_trains(nuclei: Pairs) -> None:
    """Else a tiny ``minutes`` hands back untrained weights as a trained model."""
    model = train(*nuclei, _config(steps=None, minutes=1e-9))
    encoder = pretrain(nuclei[0], _pretrain_config(steps=None, minutes=1e-9))
    assert model.config["steps"] >= 1 and encoder.config["steps"] >= 1


def test_train_semantic_uses_given_validation_set(nuclei: Pairs) -> None:
    images, masks = nuclei
    semantic = [(m > 0).astype(np.uint8) for m in masks]
    checkpoint = train(
        images[:1],
        semantic[:1],
        _config(kind="semantic"),
        val_images=images[1:],
        val_masks=semantic[1:],
    )
    assert checkpoint.config["validation"] == "given" and checkpoint.config["out_channels"] == 2


def test_train_rejects_mask_of_wrong_size(nuclei: Pairs) -> None:
    images, masks = nuclei
    with pytest.raises(ValueError, match=r"training mask 1 has size \(60, 64\)"):
        train(images, [masks[0], masks[1][:60], masks[2]], _config())


def test_train_rejects_non_integer_mask(nuclei: Pairs) -> None:
    images, masks = nuclei
    with pytest.raises(ValueError, match="must hold integers, got dtype float32"):
        train(images, [m.astype(np.float32) for m in masks], _config())


def test_train_rejects_class_beyond_num_classes(nuclei: Pairs) -> None:
    images, masks = nuclei
    with pytest.raises(ValueError, match="has class 4 but num_classes=2"):
        train(images, masks, _config(kind="semantic"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"steps": -1}, "steps must be a finite number > 0, got -1"),
        ({"minutes": float("inf")}, "minutes must be a finite number > 0"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"kind": "panoptic"}, "unknown kind 'panoptic'"),
        ({"crop_size": 30}, "crop_size must be a multiple of 16"),
        ({"lr": 0}, "lr must be a finite number > 0"),
        ({"schedule": "step"}, "schedule must be one of"),
        ({"keep": "median"}, "keep must be one of"),
        ({"sampling": "pixels"}, "sampling must be one of"),
        ({"transfer": "decoder"}, "transfer must be one of"),
        ({"encoder_lr_scale": -1.0}, "encoder_lr_scale must be in"),
        ({"calibration": "platt"}, "calibration must be one of"),
        ({"contact_weight": -1.0}, "contact_weight must be in"),
        ({"instance_target": "x"}, "instance_target must be one of .*, got 'x'"),
    ],
)
def test_train_config_rejects_bad_hyperparameters(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**overrides)


def test_pretrain_config_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown pretext method 'jigsaw'"):
        _pretrain_config(method="jigsaw")


def test_pretrain_resumes_step_count_and_weights(nuclei: Pairs) -> None:
    first = pretrain(nuclei[0], _pretrain_config(steps=2))
    resumed = pretrain(nuclei[0], _pretrain_config(steps=3), resume=first)
    assert first.config["steps"] == 2 and resumed.config["steps"] == 3
    assert not torch.equal(
        first.state_dict["net.head.weight"], resumed.state_dict["net.head.weight"]
    )


def test_train_from_ssl_checkpoint_starts_from_its_encoder_and_decoder(nuclei: Pairs) -> None:
    encoder = pretrain(nuclei[0], _pretrain_config(method="denoise"))
    cancelled = train(*nuclei, _config(), init=encoder, should_stop=lambda: True)
    for part in ("encoder.stages.0.0.weight", "decoder.blocks.0.conv.0.weight"):
        torch.testing.assert_close(cancelled.state_dict[part], encoder.state_dict[f"net.{part}"])
    assert cancelled.config["init"]["type"] == "ssl" and cancelled.config["pretext"] == "denoise"


def test_train_from_rotation_checkpoint_keeps_fresh_decoder(nuclei: Pairs) -> None:
    encoder = pretrain(nuclei[0], _pretrain_config(method="rotation", batch_size=2))
    model = train(*nuclei, _config(), init=encoder, should_stop=lambda: True)
    assert model.config["init"]["parts"] == ["encoder"]


def test_train_transfer_encoder_leaves_the_pretext_decoder_out(nuclei: Pairs) -> None:
    encoder = pretrain(nuclei[0], _pretrain_config(method="denoise"))
    model = train(*nuclei, _config(transfer="encoder"), init=encoder, should_stop=lambda: True)
    assert model.config["init"]["parts"] == ["encoder"]
    part = "decoder.blocks.0.conv.0.weight"
    assert not torch.equal(model.state_dict[part], encoder.state_dict[f"net.{part}"])


def test_train_encoder_lr_scale_zero_keeps_the_encoder(nuclei: Pairs) -> None:
    encoder = pretrain(nuclei[0], _pretrain_config(method="denoise"))
    model = train(*nuclei, _config(steps=3, encoder_lr_scale=0.0, weight_decay=0.0), init=encoder)
    part = "encoder.stages.0.0.weight"
    torch.testing.assert_close(model.state_dict[part], encoder.state_dict[f"net.{part}"])
    part = "decoder.blocks.0.conv.0.weight"
    assert not torch.equal(model.state_dict[part], encoder.state_dict[f"net.{part}"])


def test_train_warm_start_copies_previous_model(nuclei: Pairs) -> None:
    previous = train(*nuclei, _config())
    warm = train(*nuclei, _config(), init=previous, should_stop=lambda: True)
    torch.testing.assert_close(warm.state_dict["head.weight"], previous.state_dict["head.weight"])
    assert warm.config["init"]["type"] == "previous"


def test_train_rejects_init_with_other_channel_count(nuclei: Pairs) -> None:
    encoder = pretrain(nuclei[0], _pretrain_config())
    with pytest.raises(ValueError, match="in_channels=1 but the config asks for 3"):
        train(*nuclei, _config(in_channels=3), init=encoder)


def test_validation_on_training_images_scores_a_fixed_sample_of_many() -> None:
    # With nothing held out, scoring all of 100 training images after each epoch would cost more
    # than the training; a sample drawn once picks the epoch as well.
    rng = np.random.default_rng(0)
    train_idx, val_idx, source = split_validation(100, 0.0, rng)
    assert source == "train" and train_idx == list(range(100))
    assert len(val_idx) == MAX_TRAIN_VALIDATION and set(val_idx) <= set(train_idx)
    assert split_validation(5, 0.0, rng) == ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], "train")
