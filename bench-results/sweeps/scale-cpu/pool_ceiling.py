"""How far more labels go: dsb2018 pool images (the test split only to report, if asked).

Trains on every candidate outside the 150 held-out ones of ``contact-cpu/pool_contact.py``
(about 410 labeled images, against the benchmark's K <= 16), from scratch and from the masked
encoder, for 750 and 3000 fine-tuning steps, and scores the 150 held-out candidates as the other
pool sweeps do; Otsu on the same images for reference. If these stay near the K=16 figures, the
ceiling is the network and its budget, not the number of labels.

Usage: python bench-results/sweeps/scale-cpu/pool_ceiling.py .benchdata/dsb2018 [steps] [inits]
[instance_target] [recipe] [pool|test] (defaults 750,3000 / scratch,masked / boundary / bench /
pool; about 20 min on the 2-core CPU). ``test`` also scores every model, and Otsu, on the test
split. Recipe ``bench`` is the benchmark's: a fifth of the labeled images validate, the
best epoch is kept and training stops after 8 epochs without progress, so the step budget is a
cap. ``service`` is like the service's: cosine schedule to the end of the budget, last weights (a
tenth of the images validate, for the curve only).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import TrainConfig
from models.baselines import OtsuBaseline
from models.bench_data import BenchData, is_colour
from models.metrics import segmentation_scores


def main() -> None:
    root = Path(sys.argv[1])
    steps_list = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "750,3000").split(",")]
    inits = (sys.argv[3] if len(sys.argv) > 3 else "scratch,masked").split(",")
    target = sys.argv[4] if len(sys.argv) > 4 else "boundary"
    recipe = sys.argv[5] if len(sys.argv) > 5 else "bench"
    # "test": also score each model on the test split, once, after the fact. Nothing here is
    # chosen by those figures; they say what every pool label buys on the split the issue's
    # targets are set on.
    test = (sys.argv[6] if len(sys.argv) > 6 else "pool") == "test"
    data, _draws, held, colour, encoder = pool_contact.setup(root)
    rest = sorted(set(range(len(data.candidate_images))) - set(held))
    print(f"training on {len(rest)} labeled candidates, scoring {len(held)} held out", flush=True)
    print_otsu(data, held, colour)
    if test:
        # The same scorer on the test split: its images stand in for the candidates.
        test_view = replace(
            data,
            candidate_images=data.test_images,
            candidate_masks=data.test_masks,
            candidate_ids=data.test_ids,
        )
        test_held = list(range(len(data.test_images)))
        test_colour = np.array([is_colour(root / "images" / f"{i}.png") for i in data.test_ids])
        print(f"test split ({len(test_held)} images):", end="", flush=True)
        print_otsu(test_view, test_held, test_colour)
    for steps in steps_list:
        for name in inits:
            init = encoder if name == "masked" else None
            config = recipe_config(steps, recipe, target)
            model = pool_contact.train_on(data, rest, config, init)
            print(
                f"K={len(rest)} {name:8s} steps {steps:5d} target {target} recipe {recipe}"
                f" (trained {model.config['num_train_images']} images for"
                f" {model.config['steps']} steps, {model.config['elapsed_s']:.0f} s)"
                + pool_contact.scored(model, data, held, colour),
                flush=True,
            )
            if test:
                print(
                    "  on the test split"
                    + pool_contact.scored(model, test_view, test_held, test_colour),
                    flush=True,
                )


def recipe_config(steps: int, recipe: str, target: str = "boundary") -> TrainConfig:
    """The training of a sweep's recipe (see the module docstring), equal crop shares per image."""
    # A tenth validates, for the curve only: with none, every training image would be scored
    # after each epoch.
    service = {"schedule": "cosine", "keep": "last", "val_fraction": 0.1}
    return TrainConfig(
        kind="instance",
        steps=steps,
        device="cpu",
        seed=0,
        sampling="image",
        instance_target=target,
        **(service if recipe == "service" else {}),
    )


def print_otsu(data: BenchData, held: list[int], colour: np.ndarray) -> None:
    """Otsu's Dice / object F1 on the held-out candidates, as the trained models are scored."""
    baseline = OtsuBaseline(kind="instance")  # "minority" polarity, as the benchmark's K=0 row
    otsu = []
    for i in held:
        scores = segmentation_scores(
            baseline.predict(data.candidate_images[i]), data.candidate_masks[i], kind="instance"
        )
        otsu.append((scores["dice"], scores["object_f1"]))
    o = np.array(otsu)
    print(
        f"otsu | grey {o[~colour, 0].mean():.3f}/{o[~colour, 1].mean():.3f}"
        f" | colour {o[colour, 0].mean():.3f}/{o[colour, 1].mean():.3f}"
        f" | all {o[:, 0].mean():.3f}/{o[:, 1].mean():.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
