"""Why dsb2018 nuclei go unmatched, on pool images, never the test split.

One masked K=16 model (seed 0 draw; pretraining 1000, fine-tuning 750 steps) is scored on the
150 candidates that ``pool_contact.py`` scores (outside the 16-image draws of seeds 0-2):
object errors by modality (``models.metrics.object_errors``), then the same predictions made at
2x and 0.5x scale, then the watershed's seed threshold from 0.5 to 0.9.

Usage: python bench-results/sweeps/contact-cpu/diagnose.py .benchdata/dsb2018   (about 4 min)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from pool_contact import setup  # this folder: the same held-out images and encoder
from skimage.transform import resize

from models import TrainConfig, train
from models.inference import raw_probabilities
from models.metrics import object_errors, segmentation_scores
from models.postprocess import (
    MIN_OBJECT_CONFIDENCE,
    confidence_from_probabilities,
    drop_unsure,
    instances_from_probabilities,
)


def main() -> None:
    root = Path(sys.argv[1])
    data, draws, held, colour, encoder = setup(root)
    ids = draws[0][:16]
    model = train(
        [data.candidate_images[i] for i in ids],
        [data.candidate_masks[i] for i in ids],
        TrainConfig(kind="instance", steps=750, device="cpu", seed=0),
        init=encoder,
    )
    probs = {1.0: [raw_probabilities(model, data.candidate_images[i], device="cpu") for i in held]}
    for scale in (2.0, 0.5):
        probs[scale] = []
        for i in held:
            image = data.candidate_images[i]
            h, w = image.shape[:2]
            size = (round(h * scale), round(w * scale))
            scaled = resize(image.astype(np.float32), size, order=1, preserve_range=True)
            p = raw_probabilities(model, scaled, device="cpu")
            probs[scale].append(resize(p, (p.shape[0], h, w), order=1, preserve_range=True))
    truths = [data.candidate_masks[i] for i in held]
    for scale, seed in [(1.0, 0.5), (2.0, 0.5), (0.5, 0.5), (1.0, 0.6), (1.0, 0.7), (1.0, 0.8)]:
        rows = []
        for p, truth in zip(probs[scale], truths, strict=True):
            labels = instances_from_probabilities(p, seed_threshold=seed)
            confidence = confidence_from_probabilities(p, "instance")
            labels = drop_unsure(labels, confidence, MIN_OBJECT_CONFIDENCE)
            scores = segmentation_scores(labels, truth, kind="instance")
            rows.append((scores["dice"], scores["object_f1"], object_errors(labels, truth)))
        line = f"scale {scale:g} seed>{seed:g}"
        for name, sel in (("grey", ~colour), ("colour", colour), ("all", colour | ~colour)):
            part = [rows[j] for j in np.flatnonzero(sel)]
            errors = {k: sum(r[2][k] for r in part) for k in part[0][2]}
            objects = sum(len(np.setdiff1d(np.unique(truths[j]), [0])) for j in np.flatnonzero(sel))
            line += (
                f" | {name} {np.mean([r[0] for r in part]):.3f}/{np.mean([r[1] for r in part]):.3f}"
                f" nuclei {objects} " + " ".join(f"{k} {v}" for k, v in errors.items())
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
