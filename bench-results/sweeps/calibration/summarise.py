"""Table of the calibration sweep: membrane Dice on the isbi2012 test split, calibrated (prior
matching) and uncalibrated twin rows from the same models, per draw.

    python bench-results/sweeps/calibration/summarise.py
"""

import json
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    runs = {
        p.stem.removeprefix("isbi-seed"): json.loads(p.read_text()) for p in HERE.glob("*.json")
    }
    print("| draw | K | scratch raw | scratch calibrated | masked raw | masked calibrated |")
    print("|---|---|---|---|---|---|")
    for seed in sorted(runs):
        scores = runs[seed]["scores"]
        for k in sorted(scores["scratch"], key=int):
            cells = [
                scores.get(f"{m}{suffix}", {}).get(k, {}).get("dice")
                for m in ("scratch", "masked")
                for suffix in (" (uncalibrated)", "")
            ]
            shown = " | ".join("" if c is None else f"{c:.3f}" for c in cells)
            print(f"| {seed} | {k} | {shown} |")


if __name__ == "__main__":
    main()
