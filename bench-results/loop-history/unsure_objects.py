"""One-off: would dropping low-confidence predicted objects help?

Run on a copy of a loop benchmark's service folder (copied mid-run, while v1-v3 existed) and
that run's JSON:

    python bench-results/loop-history/unsure_objects.py COPY_DIR LOOP_JSON

It scores each version on the 72 pool images the run never served (never the test split).
"""

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from backend.bench.loop import _labels, _read_split
from backend.loop.corrections import compare
from models import Checkpoint, predict
from models.metrics import segmentation_scores

DATA = Path("../shared/data/dsb2018")
THRESHOLDS = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9]


def main(copy: Path, served_json: Path) -> None:
    pool, _test = _read_split(DATA, 0, 96, 40)
    rounds = json.loads(served_json.read_text())["rounds"]
    served = {s["stem"] for r in rounds for s in r["served"]}
    unseen = [s for s in pool if s not in served]
    db = sqlite3.connect(copy / "data/maskloop.db")
    rows = db.execute(
        "select version, status, checkpoint_key from model_versions order by version"
    ).fetchall()
    for version, status, key in rows:
        checkpoint = Checkpoint.load(copy / "data/blobs" / key[:2] / key)
        results: dict[float, list[tuple[float, float, float]]] = {t: [] for t in THRESHOLDS}
        for stem in unseen:
            image = np.array(Image.open(DATA / "images" / f"{stem}.png"))
            truth = _labels(DATA, stem)
            p = predict(checkpoint, image)
            ids = np.unique(p.labels)
            ids = ids[ids > 0]
            means = np.asarray(ndi.mean(p.confidence, p.labels, ids)) if len(ids) else ids
            for t in THRESHOLDS:
                labels = np.where(np.isin(p.labels, ids[means < t]), 0, p.labels)
                scores = segmentation_scores(labels, truth, kind="instance")
                changed = compare(labels, truth, "instance").changed_fraction
                results[t].append((changed, scores["dice"], scores["object_f1"]))
        for t in THRESHOLDS:
            a = np.array(results[t])
            print(
                f"v{version} {status} t={t}: corrected {a[:, 0].mean():.4f} "
                f"dice {a[:, 1].mean():.3f} f1 {a[:, 2].mean():.3f} (n={len(a)})"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
