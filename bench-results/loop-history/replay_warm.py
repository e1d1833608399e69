"""One-off: can the retrain itself stop the Dice the loop loses as the labeled set widens?

Replays a loop benchmark's labeled sets round by round (as ``replay_sampling.py`` does: same
encoder, same 60 unserved pool images to score on, never the test split) with the service's
recipe (cosine decay, last weights, equal crop shares), for one VARIANT:

- ``ssl``: every round fine-tunes from the masked-pretext encoder (the service's default);
- ``warm``: round r starts from round r-1's model (round 1 from the encoder);
- ``grow``: from the encoder, with STEPS x sqrt(training images / round 1's), so the budget
  grows with the labeled set;
- ``grey``: as ``ssl`` on luminance (one channel, its own encoder pretrained the same way), as
  the learning-core bench reads dsb2018, where the service reads an RGB collection as RGB.

    PYTHONPATH=.:bench-results/loop-history \
        python bench-results/loop-history/replay_warm.py VARIANT STEPS LOOP_JSON [THREADS]

Results: ``replay_warm.txt`` beside it.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from replay_sampling import (  # this folder
    DATA,
    ENCODER,
    dev_stems,
    image_type,
    report,
    rgb,
    served_until,
    service_recipe,
)

from backend.bench.loop import _labels
from models import Checkpoint, PretrainConfig, pretrain, train
from models.bench_data import to_gray

GREY_ENCODER = Path("/tmp/replay-encoder-grey.pt")


def main(variant: str, steps: int, loop_json: Path) -> None:
    pool, dev = dev_stems()
    grey = variant.startswith("grey")
    channels, path = (1, GREY_ENCODER) if grey else (3, ENCODER)

    def read(stem: str) -> np.ndarray:
        return to_gray(rgb(stem)) if grey else rgb(stem)

    if not path.exists():
        # Steps, not minutes: the RGB encoder took 3684 steps in its 4 minutes on 2 free cores.
        config = PretrainConfig(method="masked", in_channels=channels, steps=3684, device="cpu")
        pretrain([read(s) for s in pool], config).save(path)
    if variant.endswith("encoder"):
        return
    encoder = Checkpoint.load(path)
    rounds = json.loads(loop_json.read_text())["rounds"]
    dev_images = [read(s) for s in dev]
    dev_masks = [_labels(DATA, s) for s in dev]
    types = [image_type(rgb(s)) for s in dev]
    previous: Checkpoint | None = None
    first = 0
    for r in range(1, len(rounds) + 1):
        train_stems, val_stems = served_until(rounds, r)
        first = first or len(train_stems)
        budget = steps
        if variant == "grow":
            budget = round(steps * np.sqrt(len(train_stems) / first))
        start = time.time()
        init = previous if variant == "warm" and previous is not None else encoder
        model = train(
            [read(s) for s in train_stems],
            [_labels(DATA, s) for s in train_stems],
            service_recipe(budget, in_channels=channels),
            init=init,
            val_images=[read(s) for s in val_stems] or None,
            val_masks=[_labels(DATA, s) for s in val_stems] or None,
        )
        previous = model
        fields = {"variant": variant, "round": r, "train": len(train_stems), "steps": budget}
        report(
            fields | {"train_s": round(time.time() - start)}, model, dev_images, dev_masks, types
        )


if __name__ == "__main__":
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
