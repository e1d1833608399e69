"""Post-processing variants scored on dsb2018 pool images outside the bench's K=16 draw (never
the test split): where MIN_OBJECT_CONFIDENCE = 0.75 and the rejected distance-transform seeds
were measured.

    python bench-results/sweeps/object-confidence-cpu/pool_postprocess.py .benchdata/dsb2018

Trains scratch on the seed-0 draw's 16 images and masked (1000 pretraining steps) on its first
4, both 750 steps on the CPU, then scores 150 other pool images (about 5 minutes on 2 cores).
"""

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage as ndi
from skimage.measure import regionprops
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from models import PretrainConfig, pretrain, train
from models.bench import BenchConfig
from models.bench_data import draw_labeled, is_colour, load_bench_data
from models.data import polarity_of, prepare_image
from models.inference import predict_probabilities
from models.metrics import segmentation_scores
from models.postprocess import (
    confidence_from_probabilities,
    drop_unsure,
    instances_from_probabilities,
)

Variant = Callable[[np.ndarray, np.ndarray], np.ndarray]  # probabilities, confidence -> labels


def _finish(labels: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    orphans, _ = ndi.label(foreground & (labels == 0))
    labels = np.where(orphans > 0, orphans + labels.max(), labels)
    sizes = np.bincount(labels.ravel())
    return np.where(sizes[labels] < 10, 0, labels)


def distance_seeds(probs: np.ndarray, h: float = 1.0) -> np.ndarray:
    """Seeds at h-maxima of the (smoothed) distance transform of the interior."""
    interior, foreground = probs[1] > 0.5, (1.0 - probs[0]) > 0.5
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(interior), 1.0)
    markers, _ = ndi.label(h_maxima(distance, h) & interior)
    return _finish(watershed(-distance, markers, mask=foreground), foreground)


def split_nonconvex(probs: np.ndarray, solidity: float, h: float = 1.0) -> np.ndarray:
    """Interior components as seeds, each split by distance peaks when it is not convex."""
    foreground = (1.0 - probs[0]) > 0.5
    components, _ = ndi.label((probs[1] > 0.5) & foreground)
    seeds, next_id = np.zeros_like(components), 1
    for region in regionprops(components):
        part = components[region.slice] == region.label
        pieces, count = np.where(part, 1, 0), 1
        if region.area >= 30 and region.solidity < solidity:
            distance = ndi.gaussian_filter(ndi.distance_transform_edt(part), 1.0)
            peaks, count = ndi.label(h_maxima(distance, h) & part)
            pieces = watershed(-distance, peaks, mask=part) if count > 1 else pieces
            count = max(count, 1)
        seeds[region.slice][part] = pieces[part] + next_id - 1
        next_id += count
    return _finish(watershed(1.0 - probs[1], seeds, mask=foreground), foreground)


VARIANTS: dict[str, Variant] = {
    "every object": lambda p, c: instances_from_probabilities(p),
    "min size 30": lambda p, c: instances_from_probabilities(p, min_size=30),
    "unsure < 0.70 out": lambda p, c: drop_unsure(instances_from_probabilities(p), c, 0.70),
    "unsure < 0.75 out": lambda p, c: drop_unsure(instances_from_probabilities(p), c, 0.75),
    "unsure < 0.80 out": lambda p, c: drop_unsure(instances_from_probabilities(p), c, 0.80),
    "unsure < 0.85 out": lambda p, c: drop_unsure(instances_from_probabilities(p), c, 0.85),
    "0.75 + min size 30": lambda p, c: drop_unsure(
        instances_from_probabilities(p, min_size=30), c, 0.75
    ),
    "0.75 + distance seeds": lambda p, c: drop_unsure(distance_seeds(p), c, 0.75),
    "0.75 + split solidity < 0.85": lambda p, c: drop_unsure(split_nonconvex(p, 0.85), c, 0.75),
}


def main(root: Path, count: int = 150) -> None:
    torch.set_num_threads(2)
    data = load_bench_data(root)
    drawn = draw_labeled(len(data.candidate_images), [16], 0)
    rng = np.random.default_rng(123)
    held = [i for i in rng.permutation(len(data.candidate_images)) if i not in drawn][:count]
    colour = np.array([is_colour(root / "images" / f"{data.candidate_ids[i]}.png") for i in held])
    cfg = BenchConfig(data=root, labels=[16], finetune_steps=750, finetune_minutes=None)
    recipe = cfg.train_config(kind="instance", num_classes=2, device="cpu")

    def pairs(k: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [data.candidate_images[i] for i in drawn[:k]], [
            data.candidate_masks[i] for i in drawn[:k]
        ]

    encoder = pretrain(data.pretrain_images, PretrainConfig(steps=1000, minutes=None, device="cpu"))
    models = {
        "scratch K=16": train(*pairs(16), recipe),
        "masked K=4": train(*pairs(4), recipe, init=encoder),
    }
    for name, model in models.items():
        net = model.module(torch.device("cpu"))
        scores: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        for i in held:
            prepared = prepare_image(
                np.asarray(data.candidate_images[i]), 1, polarity_of(model.config)
            )
            probs = predict_probabilities(net, prepared)
            confidence = confidence_from_probabilities(probs, "instance")
            for variant, run in VARIANTS.items():
                s = segmentation_scores(
                    run(probs, confidence), data.candidate_masks[i], kind="instance"
                )
                scores[variant].append((s["dice"], s["object_f1"]))
        print(f"\n{name}, {count} pool images ({int(colour.sum())} colour), Dice / object F1")
        print("| variant | all | grey | colour |\n|---|---|---|---|")
        for variant, rows in scores.items():
            a = np.asarray(rows)
            cells = [a.mean(0), a[~colour].mean(0), a[colour].mean(0)]
            print(f"| {variant} | " + " | ".join(f"{d:.3f} / {f:.3f}" for d, f in cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
