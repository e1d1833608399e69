"""How low can round 6's corrected-pixel fraction go when ``uncertainty`` picks the images?

The loop benchmark's target is round 6 / round 1 <= 0.30, where round 1 is four images drawn
from empty masks (0.097 of their pixels) and later rounds are served by the active model's
uncertainty. This trains the strongest model this network gets on dsb2018 (every pool image
outside the loop's 96, bench recipe, RGB input as the service uses) and asks what it would
leave to correct:

- on the four images each of loop runs 13-15 served in round 6 (chosen by weaker models);
- on the four images it is itself least sure of, among the 96 minus the 20 labeled by round 5
  of each run (what uncertainty would serve it next);
- on four images drawn at random from the same candidates (mean over all four-image draws).

Proposals and uncertainty are computed as the service computes them
(``backend.loop.proposals``): every object predicted, the uncertainty over objects and a
3-pixel band, then unsure objects left out. No test image is used.

Usage: python bench-results/sweeps/loop-bound/ratio_bound.py .benchdata/dsb2018 [steps] [recipe]
(3000 / bench). Recipe ``bench``: a fifth of the images validate, best epoch, early stopping
(the step count is a cap); ``service``: cosine schedule to the end, last weights, as the
service trains. 5-10 min on the 2-core CPU; writes ratio_bound[_RECIPE].json beside this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from backend.bench.loop import _read_split
from backend.loop.corrections import compare
from backend.loop.proposals import uncertainty_of
from models import predict, train
from models.bench_data import is_colour, load_bench_data
from models.metrics import segmentation_scores
from models.postprocess import MIN_OBJECT_CONFIDENCE, drop_unsure

# The recipes of the ceiling sweep.
sys.path.insert(0, str(Path(__file__).parent.parent / "scale-cpu"))
import pool_ceiling

RUNS = ("13-ensemble", "14-ensemble-repeat", "15-ensemble-kept")
HISTORY = Path(__file__).resolve().parents[2] / "loop-history"


def main() -> None:
    root = Path(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    recipe = sys.argv[3] if len(sys.argv) > 3 else "bench"
    data = load_bench_data(root, channels=3)
    index = {stem: i for i, stem in enumerate(data.candidate_ids)}
    loop_pool, _ = _read_split(root, 0, 96, 40)
    in_loop = set(loop_pool)
    train_ids = [i for stem, i in index.items() if stem not in in_loop]
    config = pool_ceiling.recipe_config(steps, recipe)
    model = train(
        [data.candidate_images[i] for i in train_ids],
        [data.candidate_masks[i] for i in train_ids],
        config,
    )
    print(
        f"trained on {len(train_ids)} pool images outside the loop's 96:"
        f" {model.config['steps']} steps, {model.config['elapsed_s']:.0f} s, recipe {recipe}",
        flush=True,
    )
    per_image: dict[str, dict[str, float]] = {}
    for stem in loop_pool:
        i = index[stem]
        result = predict(model, data.candidate_images[i], min_object_confidence=0.0, device="cpu")
        proposal = drop_unsure(result.labels, result.confidence, MIN_OBJECT_CONFIDENCE)
        truth = data.candidate_masks[i]
        stats = compare(proposal, truth, "instance")
        scores = segmentation_scores(proposal, truth, kind="instance")
        per_image[stem] = {
            "corrected": stats.changed_fraction,
            "empty_start": stats.empty_start_fraction,
            "uncertainty": uncertainty_of(result.labels, result.confidence),
            "dice": float(scores["dice"]),
            "object_f1": float(scores["object_f1"]),
            "colour": bool(is_colour(root / "images" / f"{stem}.png")),
        }
    dice = np.mean([v["dice"] for v in per_image.values()])
    f1 = np.mean([v["object_f1"] for v in per_image.values()])
    work = sum(v["corrected"] for v in per_image.values()) / sum(
        v["empty_start"] for v in per_image.values()
    )
    print(f"on the loop's 96 pool images: Dice {dice:.3f}, F1 {f1:.3f}, work left {work:.2f}")
    round1 = loop_pool[:4]
    base = float(np.mean([per_image[s]["empty_start"] for s in round1]))
    print(f"round 1 (sequential, from empty): {base:.3f}")
    for run in RUNS:
        rounds = json.loads((HISTORY / f"{run}.json").read_text())["rounds"]
        served_6 = [s["stem"] for s in rounds[5]["served"]]
        labeled = {s["stem"] for r in rounds[:5] for s in r["served"]}
        left = [s for s in loop_pool if s not in labeled]
        mine = sorted(left, key=lambda s: -per_image[s]["uncertainty"])[:4]
        rows = {
            "its round-6 images": served_6,
            "own uncertainty, top 4": mine,
        }
        print(f"run {run}: {len(left)} images left after round 5")
        for name, stems in rows.items():
            corrected = float(np.mean([per_image[s]["corrected"] for s in stems]))
            empty = float(np.mean([per_image[s]["empty_start"] for s in stems]))
            colour = sum(per_image[s]["colour"] for s in stems)
            print(
                f"  {name:24s} corrected {corrected:.3f} (from empty {empty:.3f}, work left"
                f" {corrected / empty:.2f}, {colour} colour) -> round 6 / round 1"
                f" {corrected / base:.2f}"
            )
        corrected = float(np.mean([per_image[s]["corrected"] for s in left]))
        print(f"  {'random 4 (expected)':24s} corrected {corrected:.3f} -> {corrected / base:.2f}")
    suffix = "" if recipe == "bench" else f"_{recipe}"
    out = Path(__file__).with_name(f"ratio_bound{suffix}.json")
    out.write_text(json.dumps({"round1": base, "per_image": per_image}, indent=1))


if __name__ == "__main__":
    main()
