"""One-off: would averaging two versions keep both the common and the rare types?

Trains round 1's and round 6's models of a loop run's labeled sets (as ``replay_warm.py`` does
with variant ``ssl``) and scores each, the mean of their softmax outputs ("mean"), and one
network with the mean of their weights ("soup": both are fine-tuned from the same encoder) on
the same 60 unserved pool images, never the test split.

    PYTHONPATH=.:bench-results/loop-history \\
        python bench-results/loop-history/replay_ensemble.py 1500 LOOP_JSON
"""

import sys
from pathlib import Path

from replay_sampling import (  # this folder
    DATA,
    by_type,
    image_type,
    replay_inputs,
    rgb,
    round_model,
)

from backend.bench.loop import _labels
from models import Checkpoint
from models.inference import labels_from_probabilities, raw_probabilities
from models.metrics import mean_scores, segmentation_scores


def main(steps: int, loop_json: Path) -> None:
    dev, encoder, rounds = replay_inputs(loop_json)
    models = {}
    for r in (1, len(rounds)):
        models[r] = round_model(rounds, r, steps, encoder)
    first, last = models.values()
    averaged = {
        k: (v + last.state_dict[k]) / 2 if v.is_floating_point() else v
        for k, v in first.state_dict.items()
    }
    soup = Checkpoint(last.config, averaged)
    rows: dict[str, list[dict]] = {"first": [], "last": [], "mean": [], "soup": []}
    types = []
    for stem in dev:
        image, truth = rgb(stem), _labels(DATA, stem)
        types.append(image_type(image))
        p1 = raw_probabilities(first, image, device="cpu")
        p2 = raw_probabilities(last, image, device="cpu")
        p3 = raw_probabilities(soup, image, device="cpu")
        for name, p in (("first", p1), ("last", p2), ("mean", (p1 + p2) / 2), ("soup", p3)):
            labels = labels_from_probabilities(p, "instance").labels
            rows[name].append(segmentation_scores(labels, truth, kind="instance"))
    for name, scores in rows.items():
        mean = mean_scores(scores)
        parts = " ".join(f"{t} {d:.3f}/{f:.3f}" for t, (d, f) in by_type(scores, types).items())
        print(f"{name:5s} dice {mean['dice']:.4f} f1 {mean['object_f1']:.4f} {parts}", flush=True)
    print(f"steps {steps}; rounds 1 and {len(rounds)} of {loop_json}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
