"""The self-supervised pretraining loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.checkpoint import Checkpoint
from models.config import PretrainConfig
from models.data import CropSampler
from models.pretext import build_pretext
from models.training.budget import Budget, ProgressCallback, StopCallback, resolve_device
from models.training.common import (
    fingerprint,
    normalisation,
    place_batch,
    place_module,
    prepare_images,
    seed_everything,
    warmup_lr,
)


def pretrain(
    images: Sequence[np.ndarray],
    config: PretrainConfig,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    resume: Checkpoint | None = None,
) -> Checkpoint:
    """Train ``config.method`` on unlabeled images; return a ``role="pretext"`` checkpoint.

    images: (H, W) or (H, W, C) arrays of any dtype and size. With ``resume``, the network,
    optimizer and step count continue from that checkpoint and ``config.steps`` counts the
    total (so a run cut at 300 of 1000 steps finishes the remaining 700).
    """
    rng = seed_everything(config.seed)
    device = resolve_device(config.device)
    pretext = place_module(build_pretext(config.method, config.encoder, config.in_channels), device)
    optimizer = torch.optim.AdamW(
        pretext.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    step = 0
    if resume is not None:
        _check_resumable(resume, config)
        pretext.load_state_dict(resume.state_dict)
        optimizer.load_state_dict(resume.resume["optimizer"])
        step = int(resume.resume.get("step", 0))
    sampler = CropSampler(
        prepare_images(images, config.in_channels, config.polarity),
        None,
        config.crop_size,
        generator=rng,
        candidates=config.crop_candidates,
    )
    budget = Budget(config.steps, config.minutes, should_stop, start_step=step)
    pretext.train()
    while not budget.exhausted(step):
        batch, _ = sampler.sample(config.batch_size)
        for group in optimizer.param_groups:
            group["lr"] = warmup_lr(step, config.lr)
        loss = pretext(place_batch(batch, device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"pretext loss became {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if on_progress is not None and (step % config.log_every == 0 or step == 1):
            on_progress(budget.progress("pretrain", step, {"loss": float(loss.item())}))
    config_dict = {
        "role": "pretext",
        "architecture": "unet",
        "encoder": config.encoder,
        "in_channels": config.in_channels,
        "out_channels": pretext.net.head.out_channels,
        "pretext": config.method,
        "transfers_decoder": pretext.trains_decoder,
        "normalisation": normalisation(config.polarity),
        "training_set": fingerprint(images),
        "num_images": len(images),
        "steps": step,
        "cancelled": budget.cancelled,
        "hyperparameters": config.to_dict(),
    }
    state = {k: v.detach().cpu().clone() for k, v in pretext.state_dict().items()}
    return Checkpoint(config_dict, state, {"optimizer": optimizer.state_dict(), "step": step})


def _check_resumable(resume: Checkpoint, config: PretrainConfig) -> None:
    if resume.role != "pretext":
        raise ValueError(
            f"can only resume pretraining from a pretext checkpoint, got {resume.role!r}"
        )
    for key in ("encoder", "in_channels"):
        if resume.config[key] != getattr(config, key):
            raise ValueError(
                f"resume checkpoint has {key}={resume.config[key]!r}, "
                f"config has {getattr(config, key)!r}"
            )
    if resume.config["pretext"] != config.method:
        raise ValueError(
            f"resume checkpoint was pretrained with {resume.config['pretext']!r}, "
            f"not {config.method!r}"
        )
    if "optimizer" not in resume.resume:
        raise ValueError("checkpoint has no optimizer state to resume from")
