"""The supervised fine-tuning loop (semantic or instance)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from models.checkpoint import Checkpoint
from models.config import TrainConfig
from models.data import CropSampler
from models.losses import CEDiceLoss, Emphasis, class_weights_from_targets
from models.networks import Segmenter, build_segmenter
from models.postprocess import BOUNDARY, CONTACT, instance_targets
from models.training.budget import Budget, ProgressCallback, StopCallback, resolve_device
from models.training.calibrate import prior_offsets
from models.training.common import (
    cosine_factor,
    fingerprint,
    normalisation,
    place_batch,
    place_module,
    prepare_images,
    seed_everything,
    warmup_lr,
)
from models.training.validation import check_pairs, evaluate, selection_score, split_validation


def initial_network(config: TrainConfig, init: Checkpoint | None) -> tuple[Segmenter, dict]:
    """Scratch, SSL (encoder, plus decoder when the pretext trained it) or warm start.

    Returns the network and a JSON-able description of the initialisation.
    """
    net = build_segmenter(config.encoder, config.in_channels, config.out_channels)
    if init is None:
        return net, {"type": "scratch"}
    for key in ("encoder", "in_channels"):
        if init.config[key] != getattr(config, key):
            raise ValueError(
                f"init checkpoint has {key}={init.config[key]!r} but the config asks for "
                f"{getattr(config, key)!r}"
            )
    state = init.backbone_state()
    same_head = (
        init.role == "segmenter"
        and init.config.get("kind") == config.kind
        and init.config["out_channels"] == config.out_channels
    )
    if init.role == "pretext" and (
        config.transfer == "encoder" or not init.config.get("transfers_decoder", False)
    ):
        parts = ("encoder.",)
    elif same_head:
        parts = ("encoder.", "decoder.", "head.")
    else:
        parts = ("encoder.", "decoder.")
    wanted = {k: v for k, v in state.items() if k.startswith(parts)}
    try:
        loaded = net.load_state_dict(wanted, strict=False)
    except RuntimeError as error:  # a tensor of another shape
        raise ValueError(f"init checkpoint's weights do not fit the network: {error}") from error
    # strict=False only because the parts not transferred (the head) are left out on purpose;
    # a part that was meant to load must load whole.
    lacking = [k for k in loaded.missing_keys if k.startswith(parts)]
    if lacking or loaded.unexpected_keys:
        raise ValueError(
            f"init checkpoint's weights do not fit a {config.encoder} network: "
            f"{len(lacking)} missing (e.g. {lacking[:2]}), "
            f"{len(loaded.unexpected_keys)} unknown (e.g. {loaded.unexpected_keys[:2]})"
        )
    kind = "ssl" if init.role == "pretext" else "previous"
    return net, {
        "type": kind,
        "pretext": init.config.get("pretext"),
        "parts": [p[:-1] for p in parts],
        "training_set": init.config.get("training_set"),
    }


def _targets(
    masks: Sequence[np.ndarray], config: TrainConfig, *, contact: bool
) -> list[np.ndarray]:
    if config.kind == "instance":
        core = config.instance_target == "core"
        return [instance_targets(np.asarray(m), contact=contact, core=core) for m in masks]
    return [np.asarray(m).astype(np.int64) for m in masks]


def _emphasis(config: TrainConfig) -> Emphasis | None:
    """The extra weight of boundary pixels between touching objects, if any."""
    if config.kind != "instance" or config.contact_weight == 0:
        return None
    return Emphasis(code=CONTACT, as_class=BOUNDARY, weight=config.contact_weight)


def train(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    config: TrainConfig,
    *,
    init: Checkpoint | None = None,
    val_images: Sequence[np.ndarray] | None = None,
    val_masks: Sequence[np.ndarray] | None = None,
    unlabeled: Sequence[np.ndarray] | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> Checkpoint:
    """Fine-tune a segmenter; return a ``role="segmenter"`` checkpoint of the best epoch.

    images: (H, W) or (H, W, C); masks: (H, W) integer label images (class indices for
    ``semantic``, object ids for ``instance``; 0 is background). Validation metrics of the
    best epoch go to ``checkpoint.config["metrics"]``. Without ``val_images`` a fraction of
    the images is held out (see ``split_validation``). ``unlabeled`` images of the same
    collection (never a test split) let a ``semantic`` model fit its class offsets
    (``TrainConfig.calibration``); the metrics are then those of the calibrated model.
    """
    check_pairs(images, masks, config, "training")
    rng = seed_everything(config.seed)
    train_idx, val_pairs, source = _split(images, masks, val_images, val_masks, config, rng)
    net, init_info = initial_network(config, init)
    tuner = _FineTuner(
        net,
        [images[i] for i in train_idx],
        [masks[i] for i in train_idx],
        val_pairs,
        config,
        rng,
        Budget(_total_steps(config), config.minutes, should_stop),
        on_progress,
    )
    tuner.run()
    calibration = None
    wanted = config.kind == "semantic" and config.calibration == "prior"
    if wanted and unlabeled and not tuner.budget.cancelled:
        tuner.net.load_state_dict(tuner.best_state)
        train_masks = [masks[i] for i in train_idx]
        calibration = prior_offsets(tuner.net, unlabeled, train_masks, config)
        if tuner.val_images:
            tuner.best_metrics = {
                **tuner.best_metrics,
                **evaluate(
                    tuner.net, tuner.val_images, tuner.val_masks, config, calibration["offsets"]
                ),
            }
    config_dict = {
        "role": "segmenter",
        "architecture": "unet",
        "encoder": config.encoder,
        "in_channels": config.in_channels,
        "out_channels": config.out_channels,
        "kind": config.kind,
        "num_classes": config.num_classes if config.kind == "semantic" else 2,
        "classes": list(config.classes),
        "normalisation": normalisation(config.polarity),
        "pretext": init.config.get("pretext") if init is not None else None,
        "init": init_info,
        "training_set": fingerprint(images, masks),
        "num_train_images": len(train_idx),
        "num_val_images": len(val_pairs[0]),
        "validation": source,
        "metrics": tuner.best_metrics,
        "calibration": calibration,
        "steps": tuner.step,
        "elapsed_s": tuner.budget.elapsed_s,
        "stopped_early": tuner.stopped_early,
        "cancelled": tuner.budget.cancelled,
        "hyperparameters": copy.deepcopy(config.to_dict()),
    }
    return Checkpoint(config_dict, tuner.best_state)


def _split(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    val_images: Sequence[np.ndarray] | None,
    val_masks: Sequence[np.ndarray] | None,
    config: TrainConfig,
    rng: np.random.Generator,
) -> tuple[list[int], tuple[list[np.ndarray], list[np.ndarray]], str]:
    """Training indices, validation (images, masks) and where validation comes from."""
    if val_images is None and val_masks is None:
        train_idx, val_idx, source = split_validation(len(images), config.val_fraction, rng)
        return train_idx, ([images[i] for i in val_idx], [masks[i] for i in val_idx]), source
    if val_images is None or val_masks is None:
        raise ValueError("give both val_images and val_masks, or neither")
    check_pairs(val_images, val_masks, config, "validation")
    return list(range(len(images))), (list(val_images), list(val_masks)), "given"


class _FineTuner:
    """One fine-tuning run: steps, validation after each epoch, best-epoch bookkeeping."""

    def __init__(
        self,
        net: Segmenter,
        images: list[np.ndarray],
        masks: list[np.ndarray],
        val_pairs: tuple[list[np.ndarray], list[np.ndarray]],
        config: TrainConfig,
        rng: np.random.Generator,
        budget: Budget,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.config, self.budget, self.on_progress = config, budget, on_progress
        self.device = resolve_device(config.device)
        self.net = place_module(net, self.device)
        emphasis = _emphasis(config)
        targets = _targets(masks, config, contact=emphasis is not None)
        self.sampler = CropSampler(
            prepare_images(images, config.in_channels, config.polarity),
            targets,
            config.crop_size,
            config.augmentation,
            rng,
            invert_probability=config.invert_probability,
            weighting=config.sampling,
        )
        weights = class_weights_from_targets(
            [torch.from_numpy(t) for t in targets], config.out_channels, emphasis=emphasis
        )
        self.loss_fn = CEDiceLoss(
            weights.to(self.device), dice_weight=config.dice_weight, emphasis=emphasis
        )
        # The encoder may learn slower than the rest (config.encoder_lr_scale): a pretrained
        # encoder is then adapted rather than overwritten by a few labels' gradients.
        encoder = list(self.net.encoder.parameters())
        encoder_ids = {id(p) for p in encoder}
        rest = [p for p in self.net.parameters() if id(p) not in encoder_ids]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": encoder, "lr_scale": config.encoder_lr_scale},
                {"params": rest, "lr_scale": 1.0},
            ],
            lr=config.lr,
            weight_decay=config.weight_decay,
        )
        self.val_images = prepare_images(val_pairs[0], config.in_channels, config.polarity)
        self.val_masks = val_pairs[1]
        self.step, self.stale, self.best_score = 0, 0, -1.0
        self.best_state: dict[str, torch.Tensor] = {}
        self.best_metrics: dict[str, float] = {}
        self.stopped_early = False

    def run(self) -> None:
        self.net.train()
        while not self.budget.exhausted(self.step):
            loss = self._train_step()
            if self.on_progress is not None and (
                self.step % self.config.log_every == 0 or self.step == 1
            ):
                self.on_progress(self.budget.progress("train", self.step, {"loss": loss}))
            end_of_epoch = self.step % self.config.steps_per_epoch == 0
            if (end_of_epoch or self.budget.exhausted(self.step)) and self._validate(end_of_epoch):
                self.stopped_early = True
                break
        if not self.best_state:  # cancelled before the first step
            self.best_metrics = evaluate(self.net, self.val_images, self.val_masks, self.config)
            self.best_state = self._state()

    def _train_step(self) -> float:
        images, targets = self.sampler.sample(self.config.batch_size)
        lr = warmup_lr(self.step, self.config.lr, warmup=20)
        if self.config.schedule == "cosine":
            lr *= cosine_factor(self.budget.fraction(self.step))
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        logits = self.net(place_batch(images, self.device))  # (B, K, S, S)
        loss = self.loss_fn(logits, targets.to(self.device))  # type: ignore[union-attr]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
        self.optimizer.step()
        self.step += 1
        return float(loss.item())

    def _validate(self, end_of_epoch: bool) -> bool:
        """Score the network, keep it if best; True when patience has run out."""
        metrics = evaluate(self.net, self.val_images, self.val_masks, self.config)
        metrics["epoch"] = self.step / self.config.steps_per_epoch
        if self.on_progress is not None:
            shown = {f"val_{k}": v for k, v in metrics.items()}
            self.on_progress(self.budget.progress("validate", self.step, shown))
        if self.config.keep == "last":
            # The latest weights, whatever their score; no early stop (see TrainConfig.keep).
            self.best_metrics, self.best_state = metrics, self._state()
            return False
        score = selection_score(metrics, self.config.kind)
        if score > self.best_score:
            self.best_score, self.best_metrics, self.stale = score, metrics, 0
            self.best_state = self._state()
        elif end_of_epoch:
            self.stale += 1
        return self.stale >= self.config.patience

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}


def _total_steps(config: TrainConfig) -> int | None:
    limits = [
        x for x in (config.steps, config.epochs and config.epochs * config.steps_per_epoch) if x
    ]
    return min(limits) if limits else None
