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

import importlib.util
import sys
from pathlib import Path

from models import TrainConfig, train

TARGETS = ("boundary", "core")


def _contact_sweep():  # type: ignore[no-untyped-def]
    """The contact sweep's module: its ``setup`` and ``scored``, so both sweeps score the same
    draws and images the same way."""
    path = Path(__file__).parent.parent / "contact-cpu" / "pool_contact.py"
    spec = importlib.util.spec_from_file_location("pool_contact", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    root = Path(sys.argv[1])
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    ks = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "4,16").split(",")]
    targets = (sys.argv[4] if len(sys.argv) > 4 else ",".join(TARGETS)).split(",")
    contact_weight = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    pool_contact = _contact_sweep()
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
                model = train(
                    [data.candidate_images[i] for i in ids],
                    [data.candidate_masks[i] for i in ids],
                    config,
                    init=encoder,
                )
                line = f"draw {seed} K={k:2d} target={target:8s} contact_weight={contact_weight:g}"
                print(line + pool_contact.scored(model, data, held, colour), flush=True)


if __name__ == "__main__":
    main()
