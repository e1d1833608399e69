"""One-off: where does isbi2012 membrane Dice go? Scored on the candidates outside each draw
(labeled, never trained on in that fine-tune), never on the test split.

    python bench-results/sweeps/isbi-ceiling/where_dice_goes.py .benchdata/isbi2012 1,2 0,1

(K values, then draw seeds)

For scratch and the masked pretext (1000 pretraining steps, 750 fine-tuning steps, the bench's
recipe), it prints membrane Dice at five probability thresholds, precision and recall at 0.5,
the predicted and true membrane fractions, and Dice with a one-pixel tolerance (a predicted
membrane pixel counts if a true one is within one pixel, and the other way round), and Dice at
the prior-matched threshold: the one at which the 30 unlabeled sections get the same membrane
share as the K labeled masks (no test or off-draw label is looked at to choose it).
"""

import sys
import time

import numpy as np
import torch
from scipy import ndimage

from models import PretrainConfig, pretrain, train
from models.bench import parse_args
from models.bench_data import draw_labeled, load_bench_data
from models.inference import polarity_of, predict_probabilities, prepare_image

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def prior_threshold(
    net: torch.nn.Module, config: dict, pool: list[np.ndarray], share: float
) -> float:
    """The membrane threshold at which the unlabeled sections get the labeled share of membrane."""
    probs = np.concatenate(
        [
            predict_probabilities(net, prepare_image(image, 1, polarity_of(config)))[1].ravel()[::7]
            for image in pool
        ]
    )
    return float(np.quantile(probs, 1.0 - share))


def figures(prob: np.ndarray, truth: np.ndarray, prior: float) -> list[float]:
    pred = prob > prior
    out = [2 * (pred & truth).sum() / (pred.sum() + truth.sum())]
    for th in THRESHOLDS:
        pred = prob > th
        out.append(2 * (pred & truth).sum() / (pred.sum() + truth.sum()))
    pred = prob > 0.5
    tp = (pred & truth).sum()
    near_p = (pred & ndimage.binary_dilation(truth)).sum() / pred.sum()
    near_t = (truth & ndimage.binary_dilation(pred)).sum() / truth.sum()
    return [
        *out,
        tp / pred.sum(),
        tp / truth.sum(),
        pred.mean(),
        truth.mean(),
        2 * near_p * near_t / (near_p + near_t),
    ]


def main() -> None:
    root, ks, seeds = sys.argv[1], sys.argv[2], sys.argv[3]
    data = load_bench_data(parse_args(["--data", root]).data)
    # The 30 unlabeled sections: the pretraining pool without the candidates.
    unlabeled = data.pretrain_images[len(data.candidate_images) :]
    encoder = pretrain(
        data.pretrain_images,
        PretrainConfig(method="masked", steps=1000, device="cpu", seed=0, polarity="auto"),
    )
    print(
        "K  seed method   dice@"
        + "/".join(map(str, THRESHOLDS))
        + "  precision recall  pred% true%  dice(1px)  prior-matched"
    )
    for seed in map(int, seeds.split(",")):
        for k in map(int, ks.split(",")):
            cfg = parse_args(
                [
                    "--data",
                    root,
                    "--labels",
                    str(k),
                    "--baselines",
                    "",
                    "--finetune-steps",
                    "750",
                    "--seed",
                    str(seed),
                    "--device",
                    "cpu",
                ]
            )
            drawn = draw_labeled(len(data.candidate_images), cfg.labels, seed)[:k]
            for method, init in (("scratch", None), ("masked", encoder)):
                t = time.perf_counter()
                model = train(
                    [data.candidate_images[i] for i in drawn],
                    [data.candidate_masks[i] for i in drawn],
                    cfg.train_config(kind="semantic", num_classes=2, device="cpu"),
                    init=init,
                )
                net = model.module(torch.device("cpu"))
                share = float(np.mean([data.candidate_masks[i].mean() for i in drawn]))
                prior = prior_threshold(net, model.config, unlabeled, share)
                rows = []
                for i, (image, mask) in enumerate(
                    zip(data.candidate_images, data.candidate_masks, strict=True)
                ):
                    if i in drawn:
                        continue
                    prepared = prepare_image(image, 1, polarity_of(model.config))
                    rows.append(
                        figures(predict_probabilities(net, prepared)[1], mask.astype(bool), prior)
                    )
                m = np.mean(rows, axis=0)
                print(
                    f"{k:<2} {seed:<4} {method:<8} "
                    + " ".join(f"{v:.3f}" for v in m[1:6])
                    + f"  {m[6]:.3f}     {m[7]:.3f}   {m[8]:.3f} {m[9]:.3f}  {m[10]:.3f}"
                    + f"  {m[0]:.3f} at {prior:.2f}"
                    + f"   ({len(rows)} images, {time.perf_counter() - t:.0f} s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
