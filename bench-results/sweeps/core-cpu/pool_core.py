"""The "core" instance target against the default "boundary" one, on dsb2018 pool images.

Never the test split. The same setup as ``contact-cpu/pool_contact.py`` (its ``setup``): three
draws (seeds 0-2) of K labeled candidates, one masked encoder (1000 steps), 750 fine-tuning
steps per model, scored on 150 candidates outside every draw's 16 images: Dice / object F1
(unsure objects left out, as served) and merged / split nuclei, by modality.

Usage: python bench-results/sweeps/core-cpu/pool_core.py .benchdata/dsb2018 [seeds] [ks]
[targets] [contact_weight] (defaults 0,1,2 / 4,16 / boundary,core / 0; about 15 min on the 2-core
CPU for the defaults).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import TrainConfig

TARGETS = ("boundary", "core")


def main() -> None:
    root = Path(sys.argv[1])
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    ks = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "4,16").split(",")]
    targets = (sys.argv[4] if len(sys.argv) > 4 else ",".join(TARGETS)).split(",")
    contact_weight = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    data, draws, held, colour, encoder = pool_contact.setup(root)
    for seed in seeds:
        for k in ks:
            for target in targets:
                ids = draws[seed][:k]
                config = TrainConfig(
                    kind="instance",
                    steps=750,
                    device="cpu",
                    seed=0,
                    instance_target=target,
                    contact_weight=contact_weight,
                )
                model = pool_contact.train_on(data, ids, config, encoder)
                line = f"draw {seed} K={k:2d} target={target:8s} contact_weight={contact_weight:g}"
                print(line + pool_contact.scored(model, data, held, colour), flush=True)


if __name__ == "__main__":
    main()
