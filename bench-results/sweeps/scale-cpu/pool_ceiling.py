"""How far more labels go: dsb2018 pool images, never the test split.

Trains on every candidate outside the 150 held-out ones of ``contact-cpu/pool_contact.py``
(about 410 labeled images, against the benchmark's K <= 16), from scratch and from the masked
encoder, for 750 and 3000 fine-tuning steps, and scores the 150 held-out candidates as the other
pool sweeps do; Otsu on the same images for reference. If these stay near the K=16 figures, the
ceiling is the network and its budget, not the number of labels.

Usage: python bench-results/sweeps/scale-cpu/pool_ceiling.py .benchdata/dsb2018 [steps] [inits]
[instance_target] [recipe] (defaults 750,3000 / scratch,masked / boundary / bench; about 20 min on
the 2-core CPU). Recipe ``bench`` is the benchmark's: a fifth of the labeled images validate, the
best epoch is kept and training stops after 8 epochs without progress, so the step budget is a
cap. ``service`` is like the service's: cosine schedule to the end of the budget, last weights (a
tenth of the images validate, for the curve only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import TrainConfig, train
from models.baselines import OtsuBaseline
from models.metrics import segmentation_scores


def main() -> None:
    root = Path(sys.argv[1])
    steps_list = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "750,3000").split(",")]
    inits = (sys.argv[3] if len(sys.argv) > 3 else "scratch,masked").split(",")
    target = sys.argv[4] if len(sys.argv) > 4 else "boundary"
    recipe = sys.argv[5] if len(sys.argv) > 5 else "bench"
    # A tenth validates, for the curve only: with none, every training image would be scored
    # after each epoch.
    service = {"schedule": "cosine", "keep": "last", "val_fraction": 0.1}
    data, _draws, held, colour, encoder = pool_contact.setup(root)
    rest = sorted(set(range(len(data.candidate_images))) - set(held))
    print(f"training on {len(rest)} labeled candidates, scoring {len(held)} held out", flush=True)
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
    for steps in steps_list:
        for name in inits:
            init = encoder if name == "masked" else None
            config = TrainConfig(
                kind="instance",
                steps=steps,
                device="cpu",
                seed=0,
                sampling="image",
                instance_target=target,
                **(service if recipe == "service" else {}),
            )
            model = train(
                [data.candidate_images[i] for i in rest],
                [data.candidate_masks[i] for i in rest],
                config,
                init=init,
            )
            print(
                f"K={len(rest)} {name:8s} steps {steps:5d} target {target} recipe {recipe}"
                f" (trained {model.config['num_train_images']} images for"
                f" {model.config['steps']} steps, {model.config['elapsed_s']:.0f} s)"
                + pool_contact.scored(model, data, held, colour),
                flush=True,
            )


if __name__ == "__main__":
    main()
