"""One-off: replay a loop benchmark's labeled sets offline and score training recipes.

For each chosen round it trains on the images the run had served up to that round (validating
ones as the service does), from one masked-pretext encoder pretrained for 4 minutes on the run's
96 pool images, and scores on 60 *other* pool images (never the test split):

    SEED=0 python bench-results/loop-history/replay_sampling.py VARIANT ROUNDS STEPS LOOP_JSON

VARIANT is ``area`` (crops drawn in proportion to image area, the learning core's default) or
``image`` (every image an equal share). Output: one JSON line per round, plus mean Dice and
object F1 per image type (F grey fluorescence, C colour tissue, B grey brightfield).
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from backend.bench.loop import _labels, _read_split
from models import Checkpoint, PretrainConfig, TrainConfig, predict, pretrain, train
from models.metrics import mean_scores, segmentation_scores

DATA = Path("../shared/data/dsb2018")
ENCODER = Path("/tmp/replay-encoder.pt")


def rgb(stem: str) -> np.ndarray:
    return np.array(Image.open(DATA / "images" / f"{stem}.png"))[..., :3]


def image_type(image: np.ndarray) -> str:
    a = image.astype(float)
    if np.abs(a[..., 0] - a[..., 1]).mean() > 1:
        return "C"
    return "B" if a.mean() > 100 else "F"


def dev_stems() -> tuple[list[str], list[str]]:
    """The loop runs' 96 pool images, and 60 other pool images no run ever uploads."""
    pool, _ = _read_split(DATA, 0, 96, 40)
    everything, _ = _read_split(DATA, 0, 0, 40)
    return pool, [s for s in everything if s not in set(pool)][:60]


def served_until(rounds: list[dict], r: int) -> tuple[list[str], list[str]]:
    """Training and validation stems served in rounds 1..r of a loop run."""
    served = [s for past in rounds[:r] for s in past["served"]]
    return (
        [s["stem"] for s in served if not s["validation"]],
        [s["stem"] for s in served if s["validation"]],
    )


def replay_inputs(loop_json: Path) -> tuple[list[str], Checkpoint, list[dict]]:
    """(the 60 unserved pool stems, the replay encoder, the loop run's rounds)."""
    _, dev = dev_stems()
    encoder = Checkpoint.load(ENCODER)  # made by replay_warm.py / replay_sampling.py
    return dev, encoder, json.loads(loop_json.read_text())["rounds"]


def round_model(rounds: list[dict], r: int, steps: int, encoder: Checkpoint) -> Checkpoint:
    """The model the service would train after round r: its recipe, from ``encoder``, on the
    images served until then."""
    train_stems, val_stems = served_until(rounds, r)
    return train(
        [rgb(s) for s in train_stems],
        [_labels(DATA, s) for s in train_stems],
        service_recipe(steps),
        init=encoder,
        val_images=[rgb(s) for s in val_stems],
        val_masks=[_labels(DATA, s) for s in val_stems],
    )


def service_recipe(steps: int, seed: int = 0, **overrides: object) -> TrainConfig:
    """The service's fine-tuning recipe: cosine decay, last weights, equal crop shares."""
    settings: dict = {"in_channels": 3, "sampling": "image", **overrides}
    return TrainConfig(
        kind="instance",
        steps=steps,
        seed=seed,
        device="cpu",
        schedule="cosine",
        keep="last",
        **settings,
    )


def by_type(scores: list[dict], types: list[str]) -> dict[str, list[float]]:
    """Mean Dice and object F1 per image type present."""
    return {
        t: [round(mean_scores(part)[m], 3) for m in ("dice", "object_f1")]
        for t in "FCB"
        if (part := [s for s, kind in zip(scores, types, strict=True) if kind == t])
    }


def report(
    fields: dict, model: Checkpoint, dev_images: list, dev_masks: list, types: list[str]
) -> None:
    """Score ``model`` on the dev images as proposed (unsure objects left out) and print one
    JSON line: ``fields``, then Dice and object F1 overall and per image type."""
    scores = [
        segmentation_scores(
            predict(model, image, min_object_confidence=0.75).labels, mask, kind="instance"
        )
        for image, mask in zip(dev_images, dev_masks, strict=True)
    ]
    mean = mean_scores(scores)
    line = {**fields, "dice": round(mean["dice"], 4), "f1": round(mean["object_f1"], 4)}
    print(json.dumps({**line, **by_type(scores, types)}), flush=True)


def main(variant: str, rounds_wanted: list[int], steps: int, loop_json: Path) -> None:
    seed = int(os.environ.get("SEED", "0"))
    pool, dev = dev_stems()
    if not ENCODER.exists():
        config = PretrainConfig(method="masked", in_channels=3, minutes=4, device="cpu")
        pretrain([rgb(s) for s in pool], config).save(ENCODER)
    encoder = Checkpoint.load(ENCODER)
    rounds = json.loads(loop_json.read_text())["rounds"]
    dev_images = [rgb(s) for s in dev]
    dev_masks = [_labels(DATA, s) for s in dev]
    types = [image_type(i) for i in dev_images]
    for r in rounds_wanted:
        train_stems, val_stems = served_until(rounds, r)
        config = service_recipe(steps, seed, sampling=variant)
        start = time.time()
        model = train(
            [rgb(s) for s in train_stems],
            [_labels(DATA, s) for s in train_stems],
            config,
            init=encoder,
            val_images=[rgb(s) for s in val_stems] or None,
            val_masks=[_labels(DATA, s) for s in val_stems] or None,
        )
        fields = {"variant": variant, "seed": seed, "round": r, "train": len(train_stems)}
        fields |= {"steps": model.config["steps"], "train_s": round(time.time() - start)}
        report(fields, model, dev_images, dev_masks, types)


if __name__ == "__main__":
    main(sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]), Path(sys.argv[4]))
