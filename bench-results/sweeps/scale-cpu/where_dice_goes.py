"""Where dsb2018 foreground Dice goes, on pool images, never the test split.

For a K=16 model (draw 0, 750 steps, the bench's recipe) and one trained on the ~410 candidates
outside the 150 held-out ones (3000 steps), each from scratch, it splits the wrongly labeled
pixels of the 150 held-out candidates (foreground as served: unsure objects left out) into:

- **missed**: inside a true nucleus less than half covered by predicted objects;
- **spurious**: inside a predicted object less than half on true nuclei;
- **outline**: any other error within one pixel of a true nucleus's outline;
- **shape**: the rest (wrong by more than a pixel on a nucleus that was found).

and reports Dice with a one-pixel tolerance (a pixel counts if the other mask has one within a
pixel). Usage: python bench-results/sweeps/scale-cpu/where_dice_goes.py .benchdata/dsb2018
(about 7 min on the 2-core CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

# The draws, held-out images and scorer that every pool sweep shares.
sys.path.insert(0, str(Path(__file__).parent.parent / "contact-cpu"))
import pool_contact

from models import TrainConfig, predict, train


def _poorly_covered(labels: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Pixels of the objects of ``labels`` less than half covered by ``other`` > 0."""
    ids = np.unique(labels[labels > 0])
    if not len(ids):
        return np.zeros(labels.shape, bool)
    cover = ndimage.mean(other > 0, labels, ids)
    return np.isin(labels, ids[np.asarray(cover) < 0.5])


def breakdown(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    p, t = pred > 0, truth > 0
    wrong = p ^ t
    missed = wrong & _poorly_covered(truth, pred)
    spurious = wrong & _poorly_covered(pred, truth) & ~missed
    outline_band = ndimage.binary_dilation(t) & ~ndimage.binary_erosion(t)
    outline = wrong & outline_band & ~missed & ~spurious
    shape = wrong & ~missed & ~spurious & ~outline
    total = p.sum() + t.sum()
    near_p = (p & ndimage.binary_dilation(t)).sum() / max(p.sum(), 1)
    near_t = (t & ndimage.binary_dilation(p)).sum() / max(t.sum(), 1)
    return {
        "dice": 2 * (p & t).sum() / max(total, 1),
        "dice_1px": 2 * near_p * near_t / max(near_p + near_t, 1e-9),
        # Each share is the Dice those pixels cost: 1 - Dice = wrong pixels / (|P| + |T|).
        **{
            name: m.sum() / max(total, 1)
            for name, m in (
                ("missed", missed),
                ("spurious", spurious),
                ("outline", outline),
                ("shape", shape),
            )
        },
        "pred_over_true": p.sum() / max(t.sum(), 1),
    }


def main() -> None:
    root = Path(sys.argv[1])
    data, draws, held, colour, _encoder = pool_contact.setup(root)
    rest = sorted(set(range(len(data.candidate_images))) - set(held))
    # The K=16 model as the other pool sweeps train it; the large one as pool_ceiling.py does.
    runs = {
        "K=16 draw 0, 750 steps": (draws[0][:16], 750, "area"),
        f"K={len(rest)}, 3000 steps": (rest, 3000, "image"),
    }
    keys = ("dice", "dice_1px", "missed", "spurious", "outline", "shape", "pred_over_true")
    print("model | images | " + " ".join(keys))
    for name, (ids, steps, sampling) in runs.items():
        config = TrainConfig(kind="instance", steps=steps, device="cpu", seed=0, sampling=sampling)
        model = train(
            [data.candidate_images[i] for i in ids], [data.candidate_masks[i] for i in ids], config
        )
        rows = [
            breakdown(
                predict(model, data.candidate_images[i], device="cpu").labels,
                data.candidate_masks[i],
            )
            for i in held
        ]
        for part, sel in (("grey", ~colour), ("colour", colour), ("all", np.ones(len(held), bool))):
            chosen = [r for r, s in zip(rows, sel, strict=True) if s]
            means = " ".join(f"{np.mean([r[k] for r in chosen]):.3f}" for k in keys)
            print(f"{name} | {part} ({len(chosen)}) | {means}", flush=True)


if __name__ == "__main__":
    main()
