"""Per-modality figures of the runs in this folder: which kinds of image each draw labeled,
and Dice / object F1 on the 78 fluorescence and 22 colour test images.

    python bench-results/sweeps/object-confidence-cpu/summarise.py .benchdata/dsb2018 [FOLDER]

FOLDER (default: this one) holds the runs; runs that counted object errors add the shares of
objects merged and split to each cell.

Colour means the RGB channels differ (stained tissue, brightfield); grey frames are fluorescence.
"""

import json
import sys
from pathlib import Path

import numpy as np

from models.bench_data import is_colour

HERE = Path(__file__).parent


def main(root: Path, folder: Path = HERE) -> None:
    for path in sorted(folder.glob("dsb2018*.json")):
        run = json.loads(path.read_text())
        ks = run["config"]["labels"]
        drawn = [is_colour(root / "images" / f"{s}.png") for s in run["labeled_ids"]]
        colour_test = np.array([is_colour(root / "images" / f"{s}.png") for s in run["test_ids"]])
        print(f"\n{path.name} (draw {run['config'].get('draw', 'random')}):")
        print(
            "colour images among the first K labeled: "
            + ", ".join(f"K={k}: {sum(drawn[:k])}" for k in ks)
        )
        columns = "Dice / F1" + (" / merged / split" if _counts_errors(run) else "")
        print(f"| method | K | all: {columns} | fluorescence (78) | colour (22) |")
        print("|---|---|---|---|---|")
        for method, by_k in run["per_image"].items():
            for k, rows in sorted(by_k.items(), key=lambda kv: int(kv[0])):
                a = np.asarray(rows, dtype=float)
                cells = [a.mean(0), a[~colour_test].mean(0), a[colour_test].mean(0)]
                print(
                    f"| {method} | {k} | "
                    + " | ".join(" / ".join(f"{x:.3f}" for x in cell) for cell in cells)
                    + " |"
                )


def _counts_errors(run: dict) -> bool:
    rows = next(iter(next(iter(run["per_image"].values())).values()))
    return len(rows[0]) > 2


if __name__ == "__main__":
    main(Path(sys.argv[1]), *(Path(a) for a in sys.argv[2:3]))
