"""Per-draw and mean Dice (object F1 for instance data) of each variant and K in this folder.

Files are ``{data}_{variant}_{seed}.json`` from ``run.sh``:
``python bench-results/sweeps/transfer-cpu/summarise.py isbi2012``.
"""

import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(data: str) -> None:
    rows: dict[tuple[str, int], dict[int, tuple[float, float | None]]] = {}
    for path in sorted(HERE.glob(f"{data}_*.json")):
        _, variant, seed = path.stem.rsplit("_", 2)
        scores = json.loads(path.read_text())["scores"]
        for by_k in scores.values():
            for k, m in by_k.items():
                rows.setdefault((variant, int(k)), {})[int(seed)] = (m["dice"], m.get("object_f1"))
    print("| K | variant | Dice per draw | mean Dice | mean object F1 |")
    print("|---|---|---|---|---|")
    for (variant, k), by_seed in sorted(rows.items(), key=lambda r: (r[0][1], r[0][0])):
        dice = [by_seed[s][0] for s in sorted(by_seed)]
        f1 = [f for s in sorted(by_seed) if (f := by_seed[s][1]) is not None]
        f1_text = f"{statistics.mean(f1):.3f}" if f1 else "-"
        draws = " ".join(f"{d:.3f}" for d in dice)
        print(f"| {k} | {variant} | {draws} | {statistics.mean(dice):.3f} | {f1_text} |")


if __name__ == "__main__":
    main(sys.argv[1])
