"""Tables and summaries of label-efficiency results, and merging runs split by method."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from models.config import TrainConfig

PRETEXT_METHODS = ("masked", "contrastive", "rotation", "denoise", "superres")
NETWORK_METHODS = ("scratch", *PRETEXT_METHODS)
BASELINES = ("otsu", "rf")
DEFAULT_PRETEXT = "masked"


def summarize(scores: dict[str, dict[str, dict[str, float]]], kind: str) -> dict[str, Any]:
    """Headline figures: best pretext per K, default pretext minus scratch, labels saved."""
    key = "object_f1" if kind == "instance" else "dice"
    out: dict[str, Any] = {"key": key}
    scratch = scores.get("scratch", {})
    pretexts = {m: s for m, s in scores.items() if m in PRETEXT_METHODS}
    if not scratch or not pretexts:
        return out
    ks = sorted(int(k) for k in scratch)
    out["best_pretext"] = {}
    out["default_minus_scratch_dice"] = {}
    for k in ks:
        done = {m: s[str(k)] for m, s in pretexts.items() if str(k) in s}  # a run may be partial
        if not done:
            continue
        best = max(done, key=lambda m: done[m]["dice"])
        gain = done[best]["dice"] - scratch[str(k)]["dice"]
        out["best_pretext"][str(k)] = {"method": best, "dice_gain": round(gain, 4)}
        if DEFAULT_PRETEXT in done:
            d = done[DEFAULT_PRETEXT]["dice"] - scratch[str(k)]["dice"]
            out["default_minus_scratch_dice"][str(k)] = round(d, 4)
    top = scratch[str(ks[-1])]
    saved = {}
    for m, s in pretexts.items():
        hits = [k for k in ks if str(k) in s and all(s[str(k)][x] >= top[x] for x in ("dice", key))]
        saved[m] = min(hits) if hits else None
    out[f"smallest_k_matching_scratch_at_k{ks[-1]}"] = saved
    return out


def ordered(scores: dict[str, Any]) -> list[tuple[str, Any]]:
    rank = {m: i for i, m in enumerate((*NETWORK_METHODS, *BASELINES))}
    return sorted(scores.items(), key=lambda item: rank.get(item[0], len(rank)))


def render_markdown(result: dict[str, Any]) -> str:
    scores = result["scores"]
    ks = result["config"]["labels"]
    metrics = ["dice", "iou"]
    if result["dataset"]["kind"] == "instance":
        # Why objects are missed at IoU 0.5: touching objects merged or one object split
        # (models.metrics.object_errors). Runs written before these were counted leave blanks.
        metrics += ["object_f1", "objects_merged", "objects_split"]
    lines = []
    for metric in metrics:
        lines.append(
            f"**{metric}** ({result['dataset']['name']}, test n={result['dataset']['test']})\n"
        )
        lines.append("| method | " + " | ".join(f"K={k}" for k in ks) + " |")
        lines.append("|---" * (len(ks) + 1) + "|")
        for method, per_k in ordered(scores):
            cells = [_cell(per_k.get(str(k), {}).get(metric)) for k in ks]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    ks = result["config"]["labels"]
    kind = result["dataset"]["kind"]
    metrics = ["dice", "iou"] + (["object_f1"] if kind == "instance" else [])
    table = Table(
        title=f"{result['dataset']['name']}: " + " / ".join(metrics) + " on the test split"
    )
    table.add_column("method")
    for k in ks:
        table.add_column(f"K={k}", justify="right")
    for method, per_k in ordered(result["scores"]):
        cells = [
            " / ".join(f"{per_k[str(k)][m]:.3f}" for m in metrics) if str(k) in per_k else ""
            for k in ks
        ]
        table.add_row(method, *cells)
    console.print(table)
    u = result["usage"]
    console.print(
        f"minutes used: {u['wall_minutes']} wall, {u.get('process_cpu_minutes')} process CPU, "
        + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in u.items() if k.startswith("network"))
        + f"; device {result['environment']['device']}"
        + f"; JSON {result['config']['out']}"
    )


# Settings that change what a network row means; baseline-only parts may come from other runs.
RECIPE_KEYS = (
    "encoder",
    "channels",
    "polarity",
    "invert_probability",
    "schedule",
    "keep",
    "sampling",
    "val_fraction",
    "transfer",
    "encoder_lr_scale",
    "contact_weight",
    "instance_target",
    "min_object_confidence",
    "pretrain_steps",
    "pretrain_minutes",
    "finetune_steps",
    "finetune_minutes",
    "seed",
)


# Keys added after runs were written: those runs used the library's defaults, and scored every
# object.
_ADDED_LATER = ("transfer", "encoder_lr_scale", "contact_weight", "instance_target")
RECIPE_DEFAULTS = {
    **{f.name: f.default for f in fields(TrainConfig) if f.name in _ADDED_LATER},
    "min_object_confidence": 0.0,
}


def _recipe(config: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((key, config.get(key, RECIPE_DEFAULTS.get(key))) for key in RECIPE_KEYS)


def _merge_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Unite nested dicts (method -> K or timing -> K -> value); later parts win on a clash."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = json.loads(json.dumps(value))


def merge_results(parts: Sequence[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Join runs of one benchmark split by method or by K (run side by side on one machine).

    They must share the dataset and the test split, and draw the same images (a run with a
    smaller largest K drew a prefix of the others' images); scores, per-image figures and
    timings are united per method and K, usage is summed and each part's config is kept.
    """
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    for key in ("dataset", "test_ids"):
        if any(p[key] != first[key] for p in parts[1:]):
            raise ValueError(f"cannot merge runs whose {key} differ")
    recipes = {_recipe(p["config"]) for p in parts if p["config"].get("methods")}
    if len(recipes) > 1:
        raise ValueError(
            "cannot merge network runs with different settings: "
            + " vs ".join(sorted(str(dict(r)) for r in recipes))
        )
    longest = max((p["labeled_ids"] for p in parts), key=len)
    if any(p["labeled_ids"] != longest[: len(p["labeled_ids"])] for p in parts):
        raise ValueError("cannot merge runs whose labeled_ids differ")
    merged = json.loads(json.dumps(first))
    merged["labeled_ids"] = longest
    merged["config"]["out"] = str(out)
    merged["config"]["methods"] = list(
        dict.fromkeys(m for p in parts for m in p["config"]["methods"])
    )
    merged["config"]["baselines"] = list(
        dict.fromkeys(m for p in parts for m in p["config"]["baselines"])
    )
    merged["config"]["labels"] = sorted({k for p in parts for k in p["config"]["labels"]})
    merged["parts"] = [{"config": p["config"], "usage": p.get("usage", {})} for p in parts]
    for section in ("scores", "per_image", "timings"):
        merged[section] = {}
        for p in parts:
            _merge_into(merged[section], p[section])
    usage: dict[str, float] = {}
    for p in parts:
        for k, v in p.get("usage", {}).items():
            usage[k] = round(usage.get(k, 0.0) + v, 2)
    usage["wall_minutes"] = max(p.get("usage", {}).get("wall_minutes", 0.0) for p in parts)
    merged["usage"] = usage
    merged["summary"] = summarize(merged["scores"], merged["dataset"]["kind"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=1))
    out.with_suffix(".md").write_text(render_markdown(merged))
    return merged
