"""Contact weighting on dsb2018 pool images, never the test split.

For three draws (seeds 0-2) of K = 4 and 16 labeled candidates (or the K given), fine-tune from
one masked encoder (1000 steps) with ``contact_weight`` 0 and 5 (750 steps each), and score 150
candidates outside every draw's 16 images: Dice / object F1 (unsure objects left out, as
served) and the object errors of ``models.metrics.object_errors``, by modality.

Usage: python bench-results/sweeps/contact-cpu/pool_contact.py .benchdata/dsb2018 [seeds] [weights]
[ks]: seeds among 0-2; defaults 0,1,2 / 0,5 / 4,16 (about 15 min on the 2-core CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from models import Checkpoint, PretrainConfig, TrainConfig, predict, pretrain, train
from models.bench_data import BenchData, draw_labeled, is_colour, load_bench_data
from models.metrics import object_errors, segmentation_scores

DRAW_SEEDS = (0, 1, 2)


def setup_scratch(
    root: Path,
) -> tuple[BenchData, dict[int, list[int]], list[int], np.ndarray]:
    """``setup`` without the masked encoder, for sweeps that train from scratch only."""
    data = load_bench_data(root)
    n = len(data.candidate_images)
    draws = {s: draw_labeled(n, [1, 2, 4, 8, 16], s) for s in DRAW_SEEDS}
    used = set().union(*(set(d[:16]) for d in draws.values()))
    rng = np.random.default_rng(1)
    held = sorted(rng.choice([i for i in range(n) if i not in used], 150, replace=False).tolist())
    colour = np.array([is_colour(root / "images" / f"{data.candidate_ids[i]}.png") for i in held])
    return data, draws, held, colour


def setup(root: Path) -> tuple[BenchData, dict[int, list[int]], list[int], np.ndarray, Checkpoint]:
    """The data, the draws of seeds 0-2, the 150 held-out candidates (outside every draw's 16
    images), which of them are colour, and the masked encoder every model starts from."""
    data, draws, held, colour = setup_scratch(root)
    encoder = pretrain(
        data.pretrain_images,
        PretrainConfig(method="masked", steps=1000, device="cpu", seed=0, polarity="auto"),
    )
    return data, draws, held, colour, encoder


def train_on(
    data: BenchData, ids: list[int], config: TrainConfig, init: Checkpoint | None = None
) -> Checkpoint:
    """``train`` on the candidates ``ids`` with their masks."""
    return train(
        [data.candidate_images[i] for i in ids],
        [data.candidate_masks[i] for i in ids],
        config,
        init=init,
    )


def scored(
    model: Checkpoint, data: BenchData, held: list[int], colour: np.ndarray, *, tta: bool = False
) -> str:
    """`` | grey D/F merged M split S | colour ... | all ...``: mean Dice / object F1 (unsure
    objects left out, as served) and merged / split nuclei of ``model`` on the held-out images,
    predicted with flip TTA when ``tta``."""
    rows = []
    for i in held:
        labels = predict(model, data.candidate_images[i], tta=tta, device="cpu").labels
        truth = data.candidate_masks[i]
        scores = segmentation_scores(labels, truth, kind="instance")
        rows.append((scores["dice"], scores["object_f1"], object_errors(labels, truth)))
    line = ""
    for name, sel in (("grey", ~colour), ("colour", colour), ("all", colour | ~colour)):
        part = [rows[j] for j in np.flatnonzero(sel)]
        merged = sum(r[2]["merged"] for r in part)
        split = sum(r[2]["split"] for r in part)
        line += (
            f" | {name} {np.mean([r[0] for r in part]):.3f}"
            f"/{np.mean([r[1] for r in part]):.3f} merged {merged} split {split}"
        )
    return line


def main() -> None:
    root = Path(sys.argv[1])
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    weights = [float(w) for w in (sys.argv[3] if len(sys.argv) > 3 else "0,5").split(",")]
    ks = [int(k) for k in (sys.argv[4] if len(sys.argv) > 4 else "4,16").split(",")]
    data, draws, held, colour, encoder = setup(root)
    for seed in seeds:
        for k in ks:
            for weight in weights:
                ids = draws[seed][:k]
                config = TrainConfig(
                    kind="instance", steps=750, device="cpu", seed=0, contact_weight=weight
                )
                model = train_on(data, ids, config, encoder)
                scores = scored(model, data, held, colour)
                print(f"draw {seed} K={k:2d} contact_weight={weight:g}{scores}", flush=True)


if __name__ == "__main__":
    main()
