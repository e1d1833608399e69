"""Object scale on dsb2018 pool images, never the test split.

dsb2018 nuclei range from ~80 px (sparse 256x256 fluorescence) to ~1000 px (tissue); the small
ones lose most Dice against Otsu. This asks whether rescaling images so nuclei have a common size
helps, Cellpose-style:

- ``native``: as served;
- ``test xS``: predict on the image rescaled by S, probabilities resized back;
- ``test auto``: a first pass at native scale gives the median predicted object area; the image
  is rescaled so it matches the training labels' median object area (factor clipped to 0.5-3);
- ``train+test auto``: training images are also rescaled so each has the common median area.

Same setup as ``contact-cpu/pool_contact.py`` (three draws, one masked encoder, 750 steps,
150 held-out candidates). Usage: python bench-results/sweeps/scale-cpu/pool_scale.py
.benchdata/dsb2018 [seeds] [ks]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from skimage.transform import resize

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import Checkpoint, TrainConfig, train
from models.inference import calibrate, labels_from_probabilities, raw_probabilities
from models.metrics import object_errors, segmentation_scores


def median_area(labels: np.ndarray) -> float:
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    return float(np.median(counts)) if len(ids) else 0.0


def rescaled(image: np.ndarray, factor: float, *, order: int) -> np.ndarray:
    shape = (max(16, round(image.shape[0] * factor)), max(16, round(image.shape[1] * factor)))
    return resize(
        image,
        shape + image.shape[2:],
        order=order,
        preserve_range=True,
        anti_aliasing=order > 0 and factor < 1,
    ).astype(image.dtype)


def probs_at(model: Checkpoint, image: np.ndarray, factor: float) -> np.ndarray:
    if abs(factor - 1) < 1e-3:
        return calibrate(model, raw_probabilities(model, image, device="cpu"))
    probs = calibrate(
        model, raw_probabilities(model, rescaled(image, factor, order=1), device="cpu")
    )
    return resize(probs, (probs.shape[0], *image.shape[:2]), order=1, preserve_range=True).astype(
        np.float32
    )


def auto_factor(model: Checkpoint, image: np.ndarray, target: float) -> float:
    first = labels_from_probabilities(probs_at(model, image, 1.0), "instance").labels
    area = median_area(first)
    return float(np.clip(np.sqrt(target / area), 0.5, 3.0)) if area > 0 else 1.0


def main() -> None:
    root = Path(sys.argv[1])
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    ks = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "4,16").split(",")]
    data, draws, held, colour, encoder = pool_contact.setup(root)
    truth_areas = [median_area(data.candidate_masks[i]) for i in held]
    print("held-out median object area: quartiles", np.percentile(truth_areas, [25, 50, 75]))
    small = np.array(truth_areas) < 200
    for seed in seeds:
        for k in ks:
            ids = draws[seed][:k]
            images = [data.candidate_images[i] for i in ids]
            masks = [data.candidate_masks[i] for i in ids]
            areas = [median_area(m) for m in masks]
            target = float(np.median(areas))
            config = TrainConfig(kind="instance", steps=750, device="cpu", seed=0)
            plain = train(images, masks, config, init=encoder)
            factors = [np.sqrt(target / a) for a in areas]
            norm = train(
                [rescaled(im, f, order=1) for im, f in zip(images, factors, strict=True)],
                [rescaled(m, f, order=0) for m, f in zip(masks, factors, strict=True)],
                config,
                init=encoder,
            )
            variants = {
                "native": lambda im, m=plain: probs_at(m, im, 1.0),
                "test x1.5": lambda im, m=plain: probs_at(m, im, 1.5),
                "test x2": lambda im, m=plain: probs_at(m, im, 2.0),
                "test auto": lambda im, m=plain, t=target: probs_at(m, im, auto_factor(m, im, t)),
                "train+test auto": lambda im, m=norm, t=target: probs_at(
                    m, im, auto_factor(m, im, t)
                ),
            }
            for name, fn in variants.items():
                rows = []
                for i in held:
                    labels = labels_from_probabilities(
                        fn(data.candidate_images[i]), "instance"
                    ).labels
                    truth = data.candidate_masks[i]
                    s = segmentation_scores(labels, truth, kind="instance")
                    e = object_errors(labels, truth)
                    rows.append((s["dice"], s["object_f1"], e["merged"], e["split"]))
                rows_a = np.array(rows)
                line = f"draw {seed} K={k:2d} target area {target:6.0f} {name:16s}"
                for part, sel in (
                    ("grey", ~colour),
                    ("colour", colour),
                    ("small", small),
                    ("all", np.ones(len(held), bool)),
                ):
                    r = rows_a[sel]
                    line += f" | {part} {r[:, 0].mean():.3f}/{r[:, 1].mean():.3f}"
                line += f" merged {int(rows_a[:, 2].sum())} split {int(rows_a[:, 3].sum())}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
