"""One-off: which versions should a loop candidate average its predictions with?

Trains each round's model of a loop run's labeled sets (the service's recipe, from the SSL
encoder, as ``replay_ensemble.py`` does) and scores, round by round, on the same 60 unserved
pool images (never the test split):
- ``alone``: the round's model by itself;
- ``prev``: averaged with the previous round's model (a pair that moves with the loop);
- ``first``: averaged with round 1's model (a pair anchored to the first version);
- ``all``: the mean of every round's model so far;
- ``last4``: the newest four (the service's cap of four networks, the oldest dropped);
- ``anchor4``: round 1's model and the newest three (the oldest kept).

    PYTHONPATH=.:bench-results/loop-history \\
        python bench-results/loop-history/replay_chain.py 1500 LOOP_JSON
"""

import sys
from pathlib import Path

import numpy as np
from replay_sampling import (  # this folder
    DATA,
    by_type,
    image_type,
    replay_inputs,
    rgb,
    round_model,
)

from backend.bench.loop import _labels
from models.inference import labels_from_probabilities, raw_probabilities
from models.metrics import mean_scores, segmentation_scores


def main(steps: int, loop_json: Path) -> None:
    dev, encoder, rounds = replay_inputs(loop_json)
    images = [rgb(s) for s in dev]
    truths = [_labels(DATA, s) for s in dev]
    types = [image_type(i) for i in images]
    probs: list[list[np.ndarray]] = []  # probs[r][i]: round r+1's model on dev image i
    for r in range(1, len(rounds) + 1):
        model = round_model(rounds, r, steps, encoder)
        probs.append([raw_probabilities(model, image, device="cpu") for image in images])
        policies = {"alone": [r - 1]}
        if r > 1:
            policies |= {"prev": [r - 1, r - 2], "first": [r - 1, 0], "all": list(range(r))}
        if r > 4:
            policies |= {"last4": list(range(r - 4, r)), "anchor4": [0, *range(r - 3, r)]}
        for name, members in policies.items():
            scores = []
            for i, truth in enumerate(truths):
                p = sum(probs[m][i] for m in members) / len(members)
                labels = labels_from_probabilities(p, "instance").labels
                scores.append(segmentation_scores(labels, truth, kind="instance"))
            mean = mean_scores(scores)
            parts = " ".join(f"{t} {d:.3f}/{f:.3f}" for t, (d, f) in by_type(scores, types).items())
            print(
                f"round {r} {name:5s} dice {mean['dice']:.4f} f1 {mean['object_f1']:.4f} {parts}",
                flush=True,
            )
    print(f"steps {steps}; {loop_json}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
