"""Fitting a fine-tuned semantic network's class offsets on unlabeled images (prior matching;
see ``models.calibration``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.calibration import class_shares, evenly_spaced, fit_offsets, sample_log_probs
from models.config import TrainConfig
from models.inference import predict_probabilities
from models.networks import Segmenter
from models.training.common import prepare_images

# Enough images to see the collection's range; more only costs prediction time.
MAX_IMAGES = 16


def prior_offsets(
    net: Segmenter,
    unlabeled: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    config: TrainConfig,
) -> dict[str, object]:
    """The calibration record a checkpoint keeps: per-class offsets fitted so that the network's
    argmax on (up to MAX_IMAGES evenly spaced) unlabeled images gives each class the share of
    pixels it has in the training masks."""
    picked = [unlabeled[i] for i in evenly_spaced(len(unlabeled), MAX_IMAGES)]
    shares = class_shares(masks, config.num_classes)
    rng = np.random.default_rng(config.seed)
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        sampled = [
            sample_log_probs(predict_probabilities(net, image), rng)
            for image in prepare_images(picked, config.in_channels, config.polarity)
        ]
    net.train(was_training)
    offsets = fit_offsets(np.concatenate(sampled), shares)
    return {
        "method": "prior",
        "images": len(picked),
        "shares": [round(float(s), 5) for s in shares],
        "offsets": [round(float(b), 5) for b in offsets],
    }
