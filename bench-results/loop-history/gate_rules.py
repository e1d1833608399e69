"""One-off: would another promotion rule have decided better?

Run on a loop benchmark's service folder (``--keep DIR``, or a copy made while it ran) and that
run's JSON:

    python bench-results/loop-history/gate_rules.py KEEP_DIR LOOP_JSON

For every version after the first it scores the candidate and the version that was active when
it trained, per image, on that training's validation images, and on 60 pool images the run never
served (the referee; never the test split), each as it predicts: a version that averages
networks (``ensemble_with_ids``) is scored with all of them. It prints each rule's decision next
to what the referee says.
"""

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from backend.bench.loop import _labels, _read_split
from models import Checkpoint, predict
from models.metrics import object_matches, segmentation_scores
from models.postprocess import MIN_OBJECT_CONFIDENCE

DATA = Path("../shared/data/dsb2018")


def rgb(stem: str) -> np.ndarray:
    return np.array(Image.open(DATA / "images" / f"{stem}.png"))[..., :3]


def per_image(model: list[Checkpoint], stems: list[str]) -> list[dict[str, float]]:
    rows = []
    for stem in stems:
        labels = predict(model, rgb(stem), min_object_confidence=MIN_OBJECT_CONFIDENCE).labels
        truth = _labels(DATA, stem)
        row = segmentation_scores(labels, truth, kind="instance")
        row["matched"], row["predicted"], row["true"] = map(float, object_matches(labels, truth))
        rows.append(row)
    return rows


def mean(rows: list[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def pooled_f1(rows: list[dict[str, float]]) -> float:
    matched = sum(r["matched"] for r in rows)
    return 2 * matched / max(1.0, sum(r["predicted"] + r["true"] for r in rows))


RULES = {
    "mean F1 (current)": lambda c, a: mean(c, "object_f1") >= mean(a, "object_f1"),
    "mean Dice": lambda c, a: mean(c, "dice") >= mean(a, "dice"),
    "mean (F1+Dice)/2": lambda c, a: (
        mean(c, "object_f1") + mean(c, "dice") >= mean(a, "object_f1") + mean(a, "dice")
    ),
    "pooled F1": lambda c, a: pooled_f1(c) >= pooled_f1(a),
}


def main(copy: Path, loop_json: Path) -> None:
    pool, _ = _read_split(DATA, 0, 96, 40)
    everything, _ = _read_split(DATA, 0, 0, 40)
    referee = [s for s in everything if s not in set(pool)][:60]
    rounds = json.loads(loop_json.read_text())["rounds"]
    db = sqlite3.connect(copy / "data/maskloop.db")
    versions = db.execute(
        "select version, status, checkpoint_key, val_annotation_ids, id, ensemble_with_ids"
        " from model_versions order by version"
    ).fetchall()
    stem_of = dict(
        db.execute(
            "select a.id, i.filename from annotations a join images i on i.id = a.image_id"
        ).fetchall()
    )
    statuses = {v["version"]: v["status"] for r in rounds for v in r["versions"]}
    blobs = copy / "data/blobs"
    networks = {i: Checkpoint.load(blobs / k[:2] / k) for _, _, k, _, i, _ in versions}
    models = {  # each version as it predicts: its own network, then its partners'
        v: [networks[i]] + [networks[p] for p in json.loads(partners or "[]")]
        for v, _, _, _, i, partners in versions
    }
    referee_rows = {v: per_image(m, referee) for v, m in models.items()}
    active = 1
    for version, _, _, val_ids, _, _ in versions[1:]:
        val = [stem_of[i].rsplit(".", 1)[0] for i in json.loads(val_ids)]
        candidate, current = per_image(models[version], val), per_image(models[active], val)
        ref_c, ref_a = referee_rows[version], referee_rows[active]
        better = {k: mean(ref_c, k) - mean(ref_a, k) for k in ("dice", "object_f1")}
        print(
            f"v{version} vs v{active} on {len(val)} validation images; referee (60 unserved): "
            f"Dice {better['dice']:+.4f}, F1 {better['object_f1']:+.4f}"
        )
        for name, rule in RULES.items():
            print(f"  {name:18s} -> {'promote' if rule(candidate, current) else 'reject'}")
        if statuses.get(version) == "active":
            active = version


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
