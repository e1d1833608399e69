"""The loop on real data, through the real service and its REST API.

Starts ``maskloop serve`` (SQLite, embedded worker) in a temporary folder, uploads part of the
dsb2018 pool (and test images, marked held out so they are never trained on nor pretrained on),
waits for the automatic pretraining, then plays a scientist: each round it asks ``next`` for
images, fetches the proposals, "corrects" them to the ground truth (uploading the true mask with
``proposal_model_id``) and lets automatic retraining run. Per round it reports how much had to be
corrected, against an annotator who starts from empty masks, and Dice / object F1 on the held-out
test images, pulled through the prediction endpoint, and the pixels a scientist would have to
correct in the active version's proposals for those same test images: unlike the served images,
which each round's strategy picks anew (``uncertainty`` serves the hardest), they stay the same,
so that figure shows what the versions learned apart from what was served. While a training runs
it measures the latency of cached prediction requests.
"""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from backend.loop.corrections import compare

TOKEN = "mlt_loop-benchmark-token"


@dataclass
class LoopConfig:
    data: Path
    rounds: int = 6
    per_round: int = 4
    pool: int = 96
    test: int = 40
    pretrain_minutes: float = 4.0
    train_minutes: float = 2.0
    strategy: str = "uncertainty"
    seed: int = 0
    out: Path = Path("bench-results/loop.json")
    # The service's folder (database, checkpoints, service.log) is kept here for offline study
    # of its versions (e.g. bench-results/loop-history/gate_rules.py) instead of being deleted.
    keep: Path | None = None


@dataclass
class RoundResult:
    round: int
    model_version: int | None
    labeled_images: int
    corrected_fraction: float
    empty_start_fraction: float
    objects_proposed: int
    objects_accepted_unchanged: int
    objects_in_truth: int
    test_dice: float | None
    test_object_f1: float | None
    wait_s: float
    # Mean corrected-pixel fraction the active version's proposals for the test images would
    # need (``corrections.compare`` against their truth), after this round's retraining.
    test_corrected_fraction: float | None = None
    prediction_p95_ms_during_training: float | None = None
    # Per served image: which one, and its corrected / empty-start pixel fractions.
    served: list[dict] = field(default_factory=list)
    # The versions registered after this round's annotations, with their promotion reasons.
    versions: list[dict] = field(default_factory=list)

    @property
    def work_left(self) -> float | None:
        """Corrected pixels as a share of those drawn from empty masks on the same images (the
        service's ``pixel_work_ratio``): unlike the corrected fraction, it does not rise because
        a round drew denser images."""
        if not self.empty_start_fraction:
            return None
        return self.corrected_fraction / self.empty_start_fraction


@dataclass
class Report:
    config: dict
    rounds: list[RoundResult] = field(default_factory=list)
    pretrain_s: float = 0.0
    total_s: float = 0.0
    # GET /collections/{id}/stats at the end: the service's own figures per version.
    service_stats: list[dict] = field(default_factory=list)
    # The test images' mean foreground fraction: their corrected fraction from empty masks.
    test_empty_start_fraction: float | None = None


def _read_split(data: Path, seed: int, pool: int, test: int) -> tuple[list[str], list[str]]:
    with (data / "split.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    rng = np.random.default_rng(seed)
    pool_stems = [r["stem"] for r in rows if r["split"] == "pool"]
    test_stems = [r["stem"] for r in rows if r["split"] == "test"]
    rng.shuffle(pool_stems)
    rng.shuffle(test_stems)
    return pool_stems[: pool or None], test_stems[: test or None]


def _png(labels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(labels).save(buffer, format="PNG")
    return buffer.getvalue()


def _labels(data: Path, stem: str) -> np.ndarray:
    return np.array(Image.open(data / "labels" / f"{stem}.png"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """``maskloop serve`` in a subprocess with its own data folder."""

    def __init__(self, workdir: Path, config: LoopConfig) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MASKLOOP_DATA_DIR": str(workdir / "data"),
            "MASKLOOP_ADMIN_TOKEN": TOKEN,
            "MASKLOOP_ADMIN_PASSWORD": "loop-benchmark",
            "MASKLOOP_PRETRAIN_MINUTES": str(config.pretrain_minutes),
            "MASKLOOP_TRAIN_MINUTES": str(config.train_minutes),
        }
        env.pop("MASKLOOP_DATABASE_URL", None)
        self.log = (workdir / "service.log").open("w")
        maskloop = Path(sys.executable).parent / "maskloop"
        self.process = subprocess.Popen(
            [str(maskloop), "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break  # it died (bad settings, port taken): no point waiting out the deadline
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        raise RuntimeError(f"the service did not start; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def _wait_idle(http: httpx.Client, cid: int, timeout: float = 3600) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = http.get(f"/api/v1/collections/{cid}/jobs").json()["data"]
        if jobs and all(j["status"] not in ("queued", "running") for j in jobs):
            return jobs
        time.sleep(1.0)
    raise TimeoutError("jobs did not finish")


def _p95_while_training(http: httpx.Client, cid: int, image_ids: list[int]) -> float | None:
    """Latency of cached prediction requests, sampled only while a training job runs."""
    samples: list[float] = []
    while True:
        jobs = http.get(f"/api/v1/collections/{cid}/jobs", params={"limit": 5}).json()["data"]
        training = any(j["kind"] == "train" and j["status"] == "running" for j in jobs)
        if not training:
            if any(j["status"] in ("queued", "running") for j in jobs):
                time.sleep(0.5)
                continue
            break
        for image_id in image_ids:
            start = time.perf_counter()
            r = http.get(f"/api/v1/images/{image_id}/prediction")
            if r.status_code == 200 and r.headers.get("x-cache") == "hit":
                samples.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    if len(samples) < 5:
        return None
    return float(np.percentile(samples, 95))


VERSION_FIELDS = ("version", "status", "reason", "metrics", "baseline_metrics")


@dataclass(frozen=True)
class TestScores:
    """Means over the test images of one version's proposals; None when it has none."""

    dice: float | None = None
    object_f1: float | None = None
    corrected: float | None = None  # pixels a scientist would change, as in the rounds
    empty_start: float | None = None  # pixels drawing them from empty masks changes


def _score_test(
    http: httpx.Client, data: Path, test: dict[str, int], model_id: int | None = None
) -> TestScores:
    """Test figures of the active version, or of ``model_id``."""
    from models.metrics import mean_scores, segmentation_scores

    scores, corrections = [], []
    params = {"model": model_id} if model_id is not None else {}
    for stem, image_id in test.items():
        r = http.get(f"/api/v1/images/{image_id}/prediction", params=params)
        if r.status_code != 200:
            return TestScores()
        predicted = np.array(Image.open(io.BytesIO(r.content)))
        truth = _labels(data, stem)
        scores.append(segmentation_scores(predicted, truth, kind="instance"))
        corrections.append(compare(predicted, truth, "instance"))
    mean = mean_scores(scores)
    return TestScores(
        mean["dice"],
        mean["object_f1"],
        float(np.mean([c.changed_fraction for c in corrections])),
        float(np.mean([c.empty_start_fraction for c in corrections])),
    )


def run_loop(config: LoopConfig) -> Report:
    started = time.monotonic()
    pool, test = _read_split(config.data, config.seed, config.pool, config.test)
    report = Report(
        config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    )
    with _workdir(config.keep) as workdir:
        service = Service(workdir, config)
        try:
            _play(service, config, pool, test, report)
        finally:
            service.stop()
    report.total_s = time.monotonic() - started
    _print(report)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(asdict(report), indent=2))
    print(f"wrote {config.out}")
    return report


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="maskloop-loop-") as tmp:
            yield Path(tmp)
        return
    keep.mkdir(parents=True, exist_ok=True)
    yield keep


def _upload(http: httpx.Client, cid: int, data: Path, stems: list[str]) -> dict[str, int]:
    ids = {}
    for start in range(0, len(stems), 16):
        chunk = stems[start : start + 16]
        files = [
            ("files", (f"{s}.png", (data / "images" / f"{s}.png").read_bytes(), "image/png"))
            for s in chunk
        ]
        r = http.post(f"/api/v1/collections/{cid}/images", files=files)
        r.raise_for_status()
        for stem, image in zip(chunk, r.json()["data"], strict=True):
            ids[stem] = image["id"]
    return ids


def _play(
    service: Service, config: LoopConfig, pool: list[str], test: list[str], report: Report
) -> None:
    http = httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600
    )
    collection = http.post(
        "/api/v1/collections",
        json={
            "name": "dsb2018-loop",
            "kind": "instance",
            "classes": [{"name": "nucleus", "color": "#ff3366"}],
        },
    ).json()
    cid = collection["id"]
    # Pretraining starts by itself once the pool is in; retraining after each round's masks.
    http.patch(
        f"/api/v1/collections/{cid}/settings",
        json={"auto_pretrain_min_images": 0, "retrain_every": 0},
    )
    test_ids = _upload(http, cid, config.data, test)
    for image_id in test_ids.values():
        http.patch(f"/api/v1/images/{image_id}", json={"holdout": True}).raise_for_status()
    pool_ids = _upload(http, cid, config.data, pool)
    stem_of = {v: k for k, v in pool_ids.items()}
    t0 = time.monotonic()
    http.patch(
        f"/api/v1/collections/{cid}/settings",
        json={"auto_pretrain_min_images": len(pool_ids), "retrain_every": config.per_round},
    ).raise_for_status()
    _wait_idle(http, cid)
    report.pretrain_s = time.monotonic() - t0
    print(f"pretraining took {report.pretrain_s:.0f} s")
    for number in range(1, config.rounds + 1):
        changed, empty, proposed, accepted, truth = [], [], 0, 0, 0
        served_log: list[dict] = []
        version = None
        for _ in range(config.per_round):
            served = http.get(
                f"/api/v1/collections/{cid}/next", params={"strategy": config.strategy}
            )
            served.raise_for_status()
            image_id, validation = (served.json()[k] for k in ("id", "validation"))
            gt = _labels(config.data, stem_of[image_id])
            proposal_r = http.get(f"/api/v1/images/{image_id}/prediction")
            fields: dict[str, str] = {"seconds_spent": "0"}
            if proposal_r.status_code == 200:
                proposal = np.array(Image.open(io.BytesIO(proposal_r.content)))
                fields["proposal_model_id"] = proposal_r.headers["x-model-id"]
                version = int(fields["proposal_model_id"])
            else:
                proposal = np.zeros_like(gt)
            stats = compare(proposal, gt, "instance")
            changed.append(stats.changed_fraction)
            empty.append(stats.empty_start_fraction)
            served_log.append(
                {
                    "stem": stem_of[image_id],
                    "validation": validation,
                    "corrected": changed[-1],
                    "empty_start": empty[-1],
                }
            )
            proposed += stats.objects_proposed
            accepted += stats.objects_unchanged
            truth += stats.objects_final
            r = http.put(
                f"/api/v1/images/{image_id}/annotation",
                files={"mask": ("mask.png", _png(gt), "image/png")},
                data=fields,
            )
            r.raise_for_status()
        t0 = time.monotonic()
        cached = list(pool_ids.values())[:8]
        p95 = _p95_while_training(http, cid, cached)
        _wait_idle(http, cid)
        wait = time.monotonic() - t0
        on_test = _score_test(http, config.data, test_ids)
        dice, f1 = on_test.dice, on_test.object_f1
        if on_test.empty_start is not None:
            report.test_empty_start_fraction = on_test.empty_start
        models = http.get(f"/api/v1/collections/{cid}/models").json()["data"]
        active = next((m for m in models if m["status"] == "active"), None)
        known = {v["version"] for r in report.rounds for v in r.versions}
        # Rejected versions are scored on the test images too (never seen by the service's
        # decision), to tell whether the promotion rule got it right.
        new_versions = []
        number_of = {m["id"]: m["version"] for m in models}
        for m in reversed(models):
            if m["version"] in known:
                continue
            entry = {k: m[k] for k in VERSION_FIELDS}
            # The versions whose networks it averages its predictions with.
            entry["ensemble_with"] = [number_of.get(i) for i in m["ensemble_with_ids"]]
            scored = _score_test(http, config.data, test_ids, m["id"])
            entry["test_dice"], entry["test_object_f1"] = scored.dice, scored.object_f1
            entry["test_corrected"] = scored.corrected
            new_versions.append(entry)
        result = RoundResult(
            round=number,
            model_version=version,
            labeled_images=number * config.per_round,
            corrected_fraction=float(np.mean(changed)),
            empty_start_fraction=float(np.mean(empty)),
            objects_proposed=proposed,
            objects_accepted_unchanged=accepted,
            objects_in_truth=truth,
            test_dice=dice,
            test_object_f1=f1,
            wait_s=wait,
            test_corrected_fraction=on_test.corrected,
            prediction_p95_ms_during_training=p95,
            served=served_log,
            versions=new_versions,
        )
        report.rounds.append(result)
        print(
            f"round {number}: corrected {result.corrected_fraction:.4f} (empty start "
            f"{result.empty_start_fraction:.4f}), accepted {accepted}/{truth}, test dice "
            f"{dice if dice is None else round(dice, 3)}, f1 {f1 if f1 is None else round(f1, 3)}, "
            f"test corrected {fmt(on_test.corrected, 4)}, "
            f"active v{active['version'] if active else '-'}, waited {wait:.0f} s, p95 {p95}"
        )
        for entry in new_versions:
            partner = "".join(f" + v{v}" for v in entry["ensemble_with"])
            test = f"test dice {fmt(entry['test_dice'])}, f1 {fmt(entry['test_object_f1'])}"
            print(f"  v{entry['version']}{partner} {entry['status']}: {test} ({entry['reason']})")
        sys.stdout.flush()
    stats = http.get(f"/api/v1/collections/{cid}/stats")
    stats.raise_for_status()
    report.service_stats = stats.json()["data"]


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def _print_test_work(report: Report) -> None:
    """The same ratio on the fixed test images, where the round's strategy chose nothing."""
    first, last = report.rounds[0], report.rounds[-1]
    empty = report.test_empty_start_fraction
    print(
        f"test images ({fmt(empty, 4)} of their pixels from empty): corrected after the last "
        f"round / from empty: {_ratio(last.test_corrected_fraction, empty)}, / after the first "
        f"round: {_ratio(last.test_corrected_fraction, first.test_corrected_fraction)}"
    )


def _print(report: Report) -> None:
    header = (
        "| round | proposals from | labeled | corrected px | empty-start px | work left | "
        "objects kept | test Dice (after) | test F1 (after) | test corrected px (after) | "
        "p95 cached prediction during training |"
    )
    print(header)
    print("|" + "---|" * 11)
    for r in report.rounds:
        print(
            f"| {r.round} | {'v' + str(r.model_version) if r.model_version else 'none'} | "
            f"{r.labeled_images} | {fmt(r.corrected_fraction, 4)} | "
            f"{fmt(r.empty_start_fraction, 4)} | {fmt(r.work_left, 2)} | "
            f"{r.objects_accepted_unchanged}/{r.objects_in_truth} | {fmt(r.test_dice)} | "
            f"{fmt(r.test_object_f1)} | {fmt(r.test_corrected_fraction, 4)} | "
            f"{fmt(r.prediction_p95_ms_during_training, 1)} ms |"
        )
    if report.rounds:
        first, last = report.rounds[0].corrected_fraction, report.rounds[-1].corrected_fraction
        print(f"corrected pixels, last round / first round: {_ratio(last, first)} (target <= 0.30)")
        _print_test_work(report)
        print(f"pretraining {report.pretrain_s:.0f} s; total {report.total_s / 60:.1f} min")
