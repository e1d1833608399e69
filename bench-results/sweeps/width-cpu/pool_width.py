"""Does the small network's width hold outlines back? dsb2018 pool images, never the test split.

Where the Dice goes at the ceiling (``scale-cpu/where_dice_goes.py``): 40 % of it lies within one
pixel of a true outline. The default ``small`` encoder keeps 8 channels at full resolution, and
its decoder ends in one 8-channel convolution there, so the place where outlines are drawn is the
thinnest part of the network. This trains variants of the small encoder, registered here under
names of their own, from scratch on the draws of ``contact-cpu/pool_contact.py`` (750 steps, the
benchmark's recipe) and scores the 150 held-out candidates as the other pool sweeps do, with the
time to predict one 1024x1024 image.

Usage: python bench-results/sweeps/width-cpu/pool_width.py .benchdata/dsb2018 [variants] [seeds]
[ks] [scratch|masked|speed] (defaults: all variants / 0,1,2 / 16 / scratch). ``speed`` only
times each variant (three medians of five 1024x1024 predictions). ``masked`` pretrains one
masked encoder per variant (1000 steps, as ``pool_contact.setup``) and fine-tunes from it.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import PretrainConfig, TrainConfig, pretrain
from models.networks import ENCODERS, SmallEncoder
from models.speed import prediction_times

VARIANTS: dict[str, tuple[int, ...]] = {
    "small": (8, 16, 32, 64, 128),
    "full16": (16, 16, 32, 64, 128),
    "double": (16, 32, 64, 128, 256),
    "deeper": (8, 16, 32, 64, 128, 256),
    "full16deep": (16, 16, 32, 64, 128, 256),
}
for _name, _widths in VARIANTS.items():
    if _name != "small":
        ENCODERS[_name] = lambda c, w=_widths: SmallEncoder(c, w)


def seconds_1024(encoder: str) -> float:
    """Median time of one 1024x1024 prediction (random weights), as ``models.speed``."""
    return statistics.median(prediction_times(encoder, 1024, 5))


def main() -> None:
    root = Path(sys.argv[1])
    variants = (sys.argv[2] if len(sys.argv) > 2 else ",".join(VARIANTS)).split(",")
    seeds = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "0,1,2").split(",")]
    ks = [int(k) for k in (sys.argv[4] if len(sys.argv) > 4 else "16").split(",")]
    start = sys.argv[5] if len(sys.argv) > 5 else "scratch"
    if start == "speed":
        # Timings alone: inside a training run the first one also pays for warming up.
        for name in variants:
            runs = " ".join(f"{seconds_1024(name):.3f}" for _ in range(3))
            print(f"{name} {VARIANTS[name]}: 1024x1024 in {runs} s", flush=True)
        return
    data, draws, held, colour = pool_contact.setup_scratch(root)
    # Each variant pretrains its own masked encoder, the way pool_contact.setup does for "small".
    encoders = {
        name: pretrain(
            data.pretrain_images,
            PretrainConfig(
                method="masked", steps=1000, device="cpu", seed=0, polarity="auto", encoder=name
            ),
        )
        for name in (variants if start == "masked" else [])
    }
    for seed in seeds:
        for k in ks:
            for name in variants:
                ids = draws[seed][:k]
                config = TrainConfig(kind="instance", steps=750, device="cpu", seed=0, encoder=name)
                model = pool_contact.train_on(data, ids, config, encoders.get(name))
                scores = pool_contact.scored(model, data, held, colour)
                print(
                    f"draw {seed} K={k:2d} {start} {name:7s}"
                    f" ({model.config['elapsed_s']:.0f} s){scores}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
