"""Label-efficiency benchmark: segmentation quality against the number K of labeled images.

    python -m models.bench --data ../shared/data/dsb2018 --labels 1,2,4,8,16
    python -m models.bench --data ../shared/data/isbi2012 --labels 1,2,4,8,16

For each K the same K images (drawn once from the candidates with ``--seed``, or with
``--draw coverage`` picked to cover the default pretext's embedding space) train every method:
a network from scratch, a network fine-tuned from each pretext (pretrained once per method on the
unlabeled pool, never on the test split), Otsu thresholding and an ilastik-style random forest.
All are scored on the fixed test split. A table is printed; JSON (and a Markdown copy of the
tables) is written after each method so that an interrupted run keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.baselines import OtsuBaseline, PixelClassifier
from models.bench_data import BenchData, detect_kind, draw_labeled, load_bench_data, to_gray
from models.bench_report import (
    BASELINES,
    DEFAULT_PRETEXT,
    NETWORK_METHODS,
    merge_results,
    print_tables,
    render_markdown,
    summarize,
)
from models.config import TrainConfig
from models.device import resolve_device
from models.metrics import mean_scores, segmentation_scores
from models.postprocess import MIN_OBJECT_CONFIDENCE, leave_out_unsure
from models.selection import greedy_coverage

Scorer = Callable[[int, np.ndarray], np.ndarray]  # (test index, image) -> label image
Log = Callable[[str, int | None, dict[str, float] | None, str], None]  # method, K, scores, note
DRAWS = ("random", "coverage")


@dataclass
class BenchConfig:
    """Everything that defines a run; stored in the JSON output."""

    data: Path
    labels: list[int]
    methods: list[str] = field(default_factory=lambda: list(NETWORK_METHODS))
    baselines: list[str] = field(default_factory=lambda: list(BASELINES))
    pretrain_minutes: float | None = 10.0
    pretrain_steps: int | None = None
    finetune_minutes: float | None = 5.0
    finetune_steps: int | None = None
    encoder: str = "small"
    device: str = "auto"
    seed: int = 0
    # How the K images are chosen: "random" (with --seed) or "coverage" (greedy facility
    # location over the default pretext's embeddings of the candidates, as the service's
    # ``diverse`` strategy measures coverage; the pretext is pretrained first for it).
    draw: str = "random"
    out: Path = Path("bench-results/bench.json")
    limit_test: int | None = None
    jobs: int = 0  # worker threads for the random forest; 0 = all cores
    polarity: str = "auto"  # "none" reproduces runs made before polarity normalisation
    invert_probability: float = 0.0
    channels: int = 1  # 3: networks read RGB (baselines always read luminance)
    # The fine-tuning recipe. The defaults are the library's ("best epoch" on a held-out fifth
    # of the K images); "cosine" + "last" + "image" + val_fraction 0 is the service's recipe
    # with all K images trained on, since nothing is then picked on the validation images.
    schedule: str = "constant"
    keep: str = "best"
    sampling: str = "area"
    val_fraction: float = 0.2
    transfer: str = "pretext"
    encoder_lr_scale: float = 1.0
    contact_weight: float = 0.0  # extra weight of the line between touching objects (instance)
    instance_target: str = "boundary"  # "core": a 4th class seeds the watershed (instance)
    # Instance networks are scored without objects under this mean confidence, as the service
    # proposes them; each such row also gets an "(all objects)" twin scored on every object.
    min_object_confidence: float = MIN_OBJECT_CONFIDENCE
    # Split runs (one process per K on a GPU machine): one process pretrains and saves the
    # encoder, the others load it instead of pretraining again. Only with a single method.
    pretrained: Path | None = None
    save_pretrained: Path | None = None

    def __post_init__(self) -> None:
        if not self.labels or min(self.labels) < 1:
            raise ValueError(f"--labels must be positive integers, got {self.labels}")
        unknown = sorted(set(self.methods) - set(NETWORK_METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {list(NETWORK_METHODS)}")
        unknown = sorted(set(self.baselines) - set(BASELINES))
        if unknown:
            raise ValueError(f"unknown baseline(s) {unknown}; choose from {list(BASELINES)}")
        for name in ("pretrain_minutes", "pretrain_steps", "finetune_minutes", "finetune_steps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {value}")
        if (self.pretrained or self.save_pretrained) and (
            len(self.methods) != 1 or self.methods[0] == "scratch"
        ):
            raise ValueError("--pretrained / --save-pretrained need exactly one pretext method")
        if self.pretrained and self.save_pretrained:
            raise ValueError("give --pretrained or --save-pretrained, not both")
        if self.jobs < 0:
            raise ValueError(f"--jobs must be 0 (all cores) or more, got {self.jobs}")
        if self.limit_test is not None and self.limit_test < 1:
            raise ValueError(f"--limit-test must be at least 1, got {self.limit_test}")
        if self.pretrained is not None and not self.pretrained.is_file():
            raise ValueError(f"--pretrained {self.pretrained} is not a file")
        resolve_device(self.device)  # a missing GPU fails now, not after the baselines
        if self.draw not in DRAWS:
            raise ValueError(f"--draw must be one of {list(DRAWS)}, got {self.draw!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"--channels must be 1 or 3, got {self.channels}")
        if not 0.0 <= self.min_object_confidence <= 1.0:
            raise ValueError(
                f"--min-object-confidence must be in [0, 1], got {self.min_object_confidence}"
            )
        self.train_config()  # the fine-tuning recipe is checked now, not after pretraining
        self.labels = sorted(set(self.labels))

    def train_config(self, **data_fields: Any) -> TrainConfig:
        """The fine-tuning config of every K; ``data_fields`` (kind, num_classes, the resolved
        device) override the defaults."""
        recipe: dict[str, Any] = {
            "in_channels": self.channels,
            "encoder": self.encoder,
            "steps": self.finetune_steps,
            "minutes": self.finetune_minutes,
            "device": self.device,
            "seed": self.seed,
            "polarity": self.polarity,
            "invert_probability": self.invert_probability,
            "schedule": self.schedule,
            "keep": self.keep,
            "sampling": self.sampling,
            "val_fraction": self.val_fraction,
            "transfer": self.transfer,
            "encoder_lr_scale": self.encoder_lr_scale,
            "contact_weight": self.contact_weight,
            "instance_target": self.instance_target,
        }
        return TrainConfig(**{**recipe, **data_fields})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["data"], d["out"] = str(self.data), str(self.out)
        for key in ("pretrained", "save_pretrained"):
            d[key] = None if d[key] is None else str(d[key])
        return d


class BenchInputError(ValueError):
    """Arguments that only the loaded data can refuse (more K than images to label)."""


def _budget(minutes: float | None, steps: int | None, default: float) -> float | None:
    """Minutes as given (0 stays 0, and is refused); the default only without steps."""
    if minutes is None and steps is None:
        return default
    return minutes


def parse_args(argv: Sequence[str] | None = None) -> BenchConfig:
    p = argparse.ArgumentParser(prog="python -m models.bench", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="dsb2018 or isbi2012 folder")
    p.add_argument("--labels", default="1,2,4,8,16", help="comma-separated K values")
    p.add_argument("--methods", default=",".join(NETWORK_METHODS), help="networks to train")
    p.add_argument("--baselines", default=",".join(BASELINES), help="'' for none")
    p.add_argument("--pretrain-minutes", type=float, default=None, help="default 10 (CPU)")
    p.add_argument("--pretrain-steps", type=int, default=None)
    p.add_argument("--finetune-minutes", type=float, default=None, help="default 5 (CPU)")
    p.add_argument("--finetune-steps", type=int, default=None)
    p.add_argument("--encoder", default="small")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draw", default="random", help="random | coverage (how the K are chosen)")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default bench-results/)")
    p.add_argument("--limit-test", type=int, default=None, help="first N test images (smoke)")
    p.add_argument("--jobs", type=int, default=0, help="CPU threads for baselines (0 = all)")
    p.add_argument("--polarity", default="auto", help="auto | none (network input polarity)")
    p.add_argument(
        "--invert-probability", type=float, default=0.0, help="random inversion in fine-tuning"
    )
    p.add_argument("--channels", type=int, default=1, help="1 (luminance) or 3 (RGB) input")
    p.add_argument("--schedule", default="constant", help="constant | cosine (fine-tuning lr)")
    p.add_argument("--keep", default="best", help="best | last (fine-tuning weights kept)")
    p.add_argument("--sampling", default="area", help="area | image (crop share per image)")
    p.add_argument(
        "--val-fraction", type=float, default=0.2, help="labeled images held out for validation"
    )
    p.add_argument(
        "--transfer", default="pretext", help="pretext | encoder (parts an SSL start loads)"
    )
    p.add_argument("--encoder-lr-scale", type=float, default=1.0, help="encoder lr = scale * lr")
    p.add_argument(
        "--contact-weight", type=float, default=0.0, help="extra weight where objects touch"
    )
    p.add_argument(
        "--instance-target", default="boundary", help="boundary | core (4th class seeds objects)"
    )
    p.add_argument(
        "--min-object-confidence",
        type=float,
        default=MIN_OBJECT_CONFIDENCE,
        help="instance objects under this mean confidence are left out (0 keeps all)",
    )
    p.add_argument(
        "--pretrained", type=Path, default=None, help="load this encoder, skip pretraining"
    )
    p.add_argument("--save-pretrained", type=Path, default=None, help="save the pretrained encoder")
    a = p.parse_args(argv)
    if not a.data.is_dir():  # fails here, not after minutes of set-up
        p.error(f"--data {a.data} is not a folder; point it at ../shared/data/dsb2018 or isbi2012")
    try:
        detect_kind(a.data)
    except ValueError as e:
        p.error(f"--data: {e}")

    def split(s: str) -> list[str]:
        return [x.strip() for x in s.split(",") if x.strip()]

    try:
        labels = [int(x) for x in split(a.labels)]
    except ValueError:
        p.error(f"--labels must be comma-separated integers, got {a.labels!r}")
    out = a.out or Path("bench-results") / f"{a.data.resolve().name}.json"
    try:
        return BenchConfig(
            data=a.data,
            labels=labels,
            methods=split(a.methods),
            baselines=split(a.baselines),
            pretrain_minutes=_budget(a.pretrain_minutes, a.pretrain_steps, 10.0),
            pretrain_steps=a.pretrain_steps,
            finetune_minutes=_budget(a.finetune_minutes, a.finetune_steps, 5.0),
            finetune_steps=a.finetune_steps,
            encoder=a.encoder,
            device=a.device,
            seed=a.seed,
            draw=a.draw,
            out=out,
            limit_test=a.limit_test,
            jobs=a.jobs,
            polarity=a.polarity,
            invert_probability=a.invert_probability,
            channels=a.channels,
            schedule=a.schedule,
            keep=a.keep,
            sampling=a.sampling,
            val_fraction=a.val_fraction,
            transfer=a.transfer,
            encoder_lr_scale=a.encoder_lr_scale,
            contact_weight=a.contact_weight,
            instance_target=a.instance_target,
            min_object_confidence=a.min_object_confidence,
            pretrained=a.pretrained,
            save_pretrained=a.save_pretrained,
        )
    except ValueError as e:
        p.error(str(e))
        raise  # unreachable: p.error exits


class Recorder:
    """Collects scores and timings and rewrites the JSON after every method."""

    def __init__(self, cfg: BenchConfig, data: BenchData) -> None:
        self.cfg = cfg
        self.kind = data.kind
        self.t0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self.device_seconds = 0.0
        self.result: dict[str, Any] = {
            "config": cfg.to_dict(),
            "dataset": data.summary(),
            "labeled_ids": [],  # set once drawn
            "test_ids": data.test_ids,
            "environment": environment(cfg.device),
            "scores": {},
            "per_image": {},
            "timings": {},
        }

    def add(self, method: str, k: int, per_image: list[dict[str, float]]) -> dict[str, float]:
        mean = mean_scores(per_image)
        self.result["scores"].setdefault(method, {})[str(k)] = mean
        keys = ["dice"]
        if self.kind == "instance":
            keys += ["object_f1", "objects_merged", "objects_split"]
        self.result["per_image"].setdefault(method, {})[str(k)] = [
            [round(s[key], 4) for key in keys] for s in per_image
        ]
        return mean

    def time(self, method: str, what: str, seconds: float, k: int | None = None) -> None:
        entry = self.result["timings"].setdefault(method, {})
        if k is None:
            entry[what] = round(seconds, 2)
        else:
            entry.setdefault(what, {})[str(k)] = round(seconds, 2)

    def write(self) -> None:
        r = self.result
        env = r["environment"]
        wall = time.perf_counter() - self.t0
        r["usage"] = {
            "wall_minutes": round(wall / 60, 2),
            "process_cpu_minutes": round((time.process_time() - self.cpu0) / 60, 2),
            "network_minutes_on_" + env["device"]: round(self.device_seconds / 60, 2),
        }
        r["summary"] = summarize(r["scores"], self.kind)
        self.cfg.out.parent.mkdir(parents=True, exist_ok=True)
        self.cfg.out.write_text(json.dumps(r, indent=1))
        self.cfg.out.with_suffix(".md").write_text(render_markdown(r))


def environment(device: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
    }
    try:
        import torch

        resolved = "cuda" if device == "auto" and torch.cuda.is_available() else device
        resolved = "cpu" if resolved == "auto" else resolved
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["device"] = resolved
        if resolved.startswith("cuda"):
            env["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        env["device"] = "cpu"
    return env


def git_commit() -> str | None:
    if os.environ.get("MASKLOOP_GIT_COMMIT"):
        return os.environ["MASKLOOP_GIT_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def score_all(predict: Scorer, data: BenchData) -> list[dict[str, float]]:
    return score_labels([predict(i, im) for i, im in enumerate(data.test_images)], data)


def score_labels(labels: list[np.ndarray], data: BenchData) -> list[dict[str, float]]:
    """Per-image scores of predicted label images, one per test image in order."""
    return [
        segmentation_scores(pred, gt, kind=data.kind, num_classes=data.num_classes)
        for pred, gt in zip(labels, data.test_masks, strict=True)
    ]


def gray_copy(data: BenchData) -> BenchData:
    """The same data with luminance images, for the baselines (they read one channel)."""
    return replace(
        data,
        candidate_images=[to_gray(im) for im in data.candidate_images],
        test_images=[to_gray(im) for im in data.test_images],
        pretrain_images=[],
    )


def run_baselines(
    cfg: BenchConfig, data: BenchData, labeled: list[int], rec: Recorder, log: Log
) -> None:
    jobs = cfg.jobs or os.cpu_count() or 1
    data = gray_copy(data)  # 2-D images pass through unchanged
    if "otsu" in cfg.baselines:
        for k in cfg.labels:
            t = time.perf_counter()
            otsu = OtsuBaseline(data.kind).fit(
                [data.candidate_images[i] for i in labeled[:k]],
                [data.candidate_masks[i] for i in labeled[:k]],
            )
            mean = rec.add("otsu", k, score_all(lambda _, im, o=otsu: o.predict(im), data))
            rec.time("otsu", "fit_and_predict_s", time.perf_counter() - t, k)
            log("otsu", k, mean, f"polarity {otsu.polarity}")
        rec.write()
    if "rf" in cfg.baselines:
        rf = PixelClassifier(data.kind, data.num_classes, seed=cfg.seed, n_jobs=jobs)
        t = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:  # scipy.ndimage filters release the GIL
            test_feats = list(pool.map(rf.features, data.test_images))
        rec.time("rf", "test_features_s", time.perf_counter() - t)
        for k in cfg.labels:
            t = time.perf_counter()
            rf.fit(
                [data.candidate_images[i] for i in labeled[:k]],
                [data.candidate_masks[i] for i in labeled[:k]],
            )
            rec.time("rf", "fit_s", time.perf_counter() - t, k)
            t = time.perf_counter()
            mean = rec.add(
                "rf", k, score_all(lambda i, im: rf.predict(im, features=test_feats[i]), data)
            )
            rec.time("rf", "predict_s", time.perf_counter() - t, k)
            log("rf", k, mean, "")
        del test_feats
        rec.write()


def pretrained_encoder(
    cfg: BenchConfig,
    data: BenchData,
    method: str,
    rec: Recorder,
    log: Log,
    encoders: dict[str, Any],
) -> Any:
    """The pretext's encoder, loaded (``--pretrained``) or pretrained on the pool once per run:
    a coverage draw and the method's own row share it."""
    from models import Checkpoint, PretrainConfig, pretrain

    if method in encoders:
        return encoders[method]
    if cfg.pretrained is not None:
        init = Checkpoint.load(cfg.pretrained)
        if init.config.get("pretext") != method:
            raise ValueError(
                f"{cfg.pretrained} holds a {init.config.get('pretext')!r} encoder, "
                f"not {method!r}: pass the encoder that --save-pretrained wrote for {method}"
            )
        log(method, None, None, f"loaded {cfg.pretrained} ({init.config.get('steps')} steps)")
    else:
        t = time.perf_counter()
        init = pretrain(
            data.pretrain_images,
            PretrainConfig(
                method=method,
                encoder=cfg.encoder,
                in_channels=cfg.channels,
                steps=cfg.pretrain_steps,
                minutes=cfg.pretrain_minutes,
                device=rec.result["environment"]["device"],
                seed=cfg.seed,
                polarity=cfg.polarity,
            ),
        )
        seconds = time.perf_counter() - t
        rec.device_seconds += seconds
        rec.time(method, "pretrain_s", seconds)
        rec.time(method, "pretrain_steps", float(init.config.get("steps", -1)))
        log(method, None, None, f"pretrained {init.config.get('steps')} steps in {seconds:.0f} s")
        if cfg.save_pretrained is not None:
            init.save(cfg.save_pretrained)
    encoders[method] = init
    return init


def draw_by_coverage(
    cfg: BenchConfig, data: BenchData, rec: Recorder, log: Log, encoders: dict[str, Any]
) -> list[int]:
    """The K images a coverage-minded lab would label first: greedy facility location over the
    default pretext's embeddings of every candidate (no labels are looked at)."""
    from models import embed

    encoder = pretrained_encoder(cfg, data, DEFAULT_PRETEXT, rec, log, encoders)
    t = time.perf_counter()
    device = rec.result["environment"]["device"]
    vectors = np.stack([embed(encoder, im, device=device) for im in data.candidate_images])
    picked = greedy_coverage(vectors, max(cfg.labels))
    rec.time("draw", "coverage_s", time.perf_counter() - t)
    return picked


def run_networks(
    cfg: BenchConfig,
    data: BenchData,
    labeled: list[int],
    rec: Recorder,
    log: Log,
    encoders: dict[str, Any],
) -> None:
    from models import train
    from models.inference import calibrate, labels_from_probabilities, raw_probabilities

    device = rec.result["environment"]["device"]
    for method in cfg.methods:
        init = None
        if method != "scratch":
            init = pretrained_encoder(cfg, data, method, rec, log, encoders)
        for k in cfg.labels:
            t = time.perf_counter()
            model = train(
                [data.candidate_images[i] for i in labeled[:k]],
                [data.candidate_masks[i] for i in labeled[:k]],
                cfg.train_config(kind=data.kind, num_classes=data.num_classes, device=device),
                init=init,
                # The pool, as the service passes the collection's unlabeled images: a semantic
                # model fits its class offsets there (TrainConfig.calibration).
                unlabeled=data.pretrain_images,
            )
            seconds = time.perf_counter() - t
            rec.time(method, "finetune_s", seconds, k)
            rec.time(method, "finetune_steps", float(model.config.get("steps", -1)), k)
            t = time.perf_counter()
            # One network pass per image gives both the served labels and, for a semantic
            # model with class offsets, the raw argmax of its "(uncalibrated)" twin row.
            every, raw = [], []
            for im in data.test_images:
                probs = raw_probabilities(model, im, device=device)
                every.append(labels_from_probabilities(calibrate(model, probs), data.kind, 0.0))
                if model.config.get("calibration"):
                    raw.append(labels_from_probabilities(probs, data.kind, 0.0).labels)
            rec.time(method, "predict_s", time.perf_counter() - t, k)
            threshold = cfg.min_object_confidence
            kept = [leave_out_unsure(p.labels, p.confidence, data.kind, threshold) for p in every]
            mean = rec.add(method, k, score_labels(kept, data))
            if data.kind == "instance" and threshold > 0:
                rec.add(f"{method} (all objects)", k, score_labels([p.labels for p in every], data))
            if raw:
                rec.add(f"{method} (uncalibrated)", k, score_labels(raw, data))
            rec.device_seconds += seconds + rec.result["timings"][method]["predict_s"][str(k)]
            log(method, k, mean, f"fine-tuned in {seconds:.0f} s")
            rec.write()


def run_bench(cfg: BenchConfig, *, quiet: bool = False) -> dict[str, Any]:
    data = load_bench_data(cfg.data, limit_test=cfg.limit_test, channels=cfg.channels)
    if max(cfg.labels) > len(data.candidate_images):
        raise BenchInputError(
            f"--labels asks for {max(cfg.labels)} labeled images but {data.name} has "
            f"{len(data.candidate_images)} to label"
        )
    rec = Recorder(cfg, data)

    def log(method: str, k: int | None, mean: dict[str, float] | None, note: str) -> None:
        if quiet:
            return
        figures = " ".join(
            f"{m}={v:.3f}" for m, v in (mean or {}).items() if m in ("dice", "object_f1")
        )
        where = f"K={k}" if k is not None else "    "
        print(f"[{time.perf_counter() - rec.t0:7.1f}s] {method:<11} {where:<5} {figures} {note}")
        sys.stdout.flush()

    if not quiet:
        env = rec.result["environment"]
        print(f"{data.summary()}; device {env['device']}; torch {env.get('torch')}")
    encoders: dict[str, Any] = {}
    if cfg.draw == "coverage":
        labeled = draw_by_coverage(cfg, data, rec, log, encoders)
    else:
        labeled = draw_labeled(len(data.candidate_images), cfg.labels, cfg.seed)
    rec.result["labeled_ids"] = [data.candidate_ids[i] for i in labeled]
    run_baselines(cfg, data, labeled, rec, log)
    if cfg.methods:
        run_networks(cfg, data, labeled, rec, log, encoders)
    rec.write()
    return rec.result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--merge"]:
        if len(argv) < 4 or "--out" not in argv:
            print("usage: python -m models.bench --merge A.json B.json ... --out MERGED.json")
            return 2
        i = argv.index("--out")
        paths, out = argv[1:i] + argv[i + 2 :], Path(argv[i + 1])
        result = merge_results([json.loads(Path(p).read_text()) for p in paths], out)
        print_tables(result)
        return 0
    cfg = parse_args(argv)
    try:
        result = run_bench(cfg)
    except BenchInputError as error:
        print(f"python -m models.bench: error: {error}", file=sys.stderr)
        return 2
    print_tables(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
