"""The supervised fine-tuning loop (semantic or instance)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from models.checkpoint import Checkpoint
from models.config import TrainConfig
from models.data import CropSampler
from models.losses import CEDiceLoss, class_weights_from_targets
from models.networks import Segmenter, build_segmenter
from models.postprocess import instance_targets
from models.training.budget import Budget, ProgressCallback, StopCallback, resolve_device
from models.training.common import (
    NORMALISATION,
    fingerprint,
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
    if init.role == "pretext" and not init.config.get("transfers_decoder", False):
        parts = ("encoder.",)
    elif same_head:
        parts = ("encoder.", "decoder.", "head.")
    else:
        parts = ("encoder.", "decoder.")
    net.load_state_dict({k: v for k, v in state.items() if k.startswith(parts)}, strict=False)
    kind = "ssl" if init.role == "pretext" else "previous"
    return net, {
        "type": kind,
        "pretext": init.config.get("pretext"),
        "parts": [p[:-1] for p in parts],
        "training_set": init.config.get("training_set"),
    }


def _targets(masks: Sequence[np.ndarray], kind: str) -> list[np.ndarray]:
    if kind == "instance":
        return [instance_targets(np.asarray(m)) for m in masks]
    return [np.asarray(m).astype(np.int64) for m in masks]


def train(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    config: TrainConfig,
    *,
    init: Checkpoint | None = None,
    val_images: Sequence[np.ndarray] | None = None,
    val_masks: Sequence[np.ndarray] | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> Checkpoint:
    """Fine-tune a segmenter; return a ``role="segmenter"`` checkpoint of the best epoch.

    images: (H, W) or (H, W, C); masks: (H, W) integer label images (class indices for
    ``semantic``, object ids for ``instance``; 0 is background). Validation metrics of the
    best epoch go to ``checkpoint.config["metrics"]``. Without ``val_images`` a fraction of
    the images is held out (see ``split_validation``).
    """
    check_pairs(images, masks, config, "training")
    rng = seed_everything(config.seed)
    if val_images is not None or val_masks is not None:
        if val_images is None or val_masks is None:
            raise ValueError("give both val_images and val_masks, or neither")
        check_pairs(val_images, val_masks, config, "validation")
        train_idx, source = list(range(len(images))), "given"
        val_pairs = (list(val_images), list(val_masks))
    else:
        train_idx, val_idx, source = split_validation(len(images), config.val_fraction, rng)
        val_pairs = ([images[i] for i in val_idx], [masks[i] for i in val_idx])
    device = resolve_device(config.device)
    net, init_info = initial_network(config, init)
    net = place_module(net, device)
    train_images = prepare_images([images[i] for i in train_idx], config.in_channels)
    train_targets = _targets([masks[i] for i in train_idx], config.kind)
    val_prepared = prepare_images(val_pairs[0], config.in_channels)
    sampler = CropSampler(train_images, train_targets, config.crop_size, config.augmentation, rng)
    weights = class_weights_from_targets(
        [torch.from_numpy(t) for t in train_targets], config.out_channels
    )
    loss_fn = CEDiceLoss(weights.to(device), dice_weight=config.dice_weight)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = _total_steps(config)
    budget = Budget(total, config.minutes, should_stop)

    step, best_score, best_state, best_metrics, stale = 0, -1.0, None, {}, 0
    stopped_early = False
    net.train()
    while not budget.exhausted(step):
        images_batch, target_batch = sampler.sample(config.batch_size)
        for group in optimizer.param_groups:
            group["lr"] = warmup_lr(step, config.lr, warmup=20)
        logits = net(place_batch(images_batch, device))
        loss = loss_fn(logits, target_batch.to(device))  # type: ignore[union-attr]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        step += 1
        if on_progress is not None and (step % config.log_every == 0 or step == 1):
            on_progress(budget.progress("train", step, {"loss": float(loss.item())}))
        end_of_epoch = step % config.steps_per_epoch == 0
        if not end_of_epoch and not budget.exhausted(step):
            continue
        metrics = evaluate(net, val_prepared, val_pairs[1], config)
        metrics["epoch"] = float(step / config.steps_per_epoch)
        if on_progress is not None:
            on_progress(
                budget.progress("validate", step, {f"val_{k}": v for k, v in metrics.items()})
            )
        score = selection_score(metrics, config.kind)
        if score > best_score:
            best_score, best_metrics, stale = score, metrics, 0
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        elif end_of_epoch:
            stale += 1
            if stale >= config.patience:
                stopped_early = True
                break

    if best_state is None:  # cancelled before the first step
        best_metrics = evaluate(net, val_prepared, val_pairs[1], config)
        best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    config_dict = {
        "role": "segmenter",
        "architecture": "unet",
        "encoder": config.encoder,
        "in_channels": config.in_channels,
        "out_channels": config.out_channels,
        "kind": config.kind,
        "num_classes": config.num_classes if config.kind == "semantic" else 2,
        "classes": list(config.classes),
        "normalisation": NORMALISATION,
        "pretext": init.config.get("pretext") if init is not None else None,
        "init": init_info,
        "training_set": fingerprint(images, masks),
        "num_train_images": len(train_idx),
        "num_val_images": len(val_pairs[0]),
        "validation": source,
        "metrics": best_metrics,
        "steps": step,
        "elapsed_s": budget.elapsed_s,
        "stopped_early": stopped_early,
        "cancelled": budget.cancelled,
        "hyperparameters": copy.deepcopy(config.to_dict()),
    }
    return Checkpoint(config_dict, best_state)


def _total_steps(config: TrainConfig) -> int | None:
    limits = [
        x for x in (config.steps, config.epochs and config.epochs * config.steps_per_epoch) if x
    ]
    return min(limits) if limits else None
