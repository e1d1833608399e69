"""Flip test-time augmentation on dsb2018 pool images, never the test split.

``predict(..., tta=True)`` averages the probabilities over flips (README: 0.8-1.1 s for a
1024x1024 image against 0.19 s); what it buys in Dice and object F1 was never measured. Same setup
as ``contact-cpu/pool_contact.py``: three draws of K labeled candidates, one masked encoder, 750
fine-tuning steps, 150 held-out candidates, unsure objects left out as served.

Usage: python bench-results/sweeps/scale-cpu/pool_tta.py .benchdata/dsb2018 [seeds] [ks]
(defaults 0,1,2 / 4,16; about 12 min on the 2-core CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import TrainConfig


def main() -> None:
    root = Path(sys.argv[1])
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    ks = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "4,16").split(",")]
    data, draws, held, colour, encoder = pool_contact.setup(root)
    for seed in seeds:
        for k in ks:
            ids = draws[seed][:k]
            model = pool_contact.train_on(
                data, ids, TrainConfig(kind="instance", steps=750, device="cpu", seed=0), encoder
            )
            for tta in (False, True):
                line = f"draw {seed} K={k:2d} tta={tta!s:5s}"
                print(line + pool_contact.scored(model, data, held, colour, tta=tta), flush=True)


if __name__ == "__main__":
    main()
