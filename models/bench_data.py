"""Benchmark datasets: dsb2018 (instance nuclei) and isbi2012 (semantic membranes).

Both are read from a folder and recognised by its contents: dsb2018 has ``split.csv`` with
``images/`` and ``labels/``; isbi2012 has ``images/``, ``masks/`` and ``unlabeled/``.
Images are returned as ``uint8`` arrays, masks as ``int32`` label images. With ``channels=1``
(the default) images are 2-D luminance (dsb2018's RGBA is reduced to it; its 557 fluorescence
images are R=G=B already); with ``channels=3`` they are (H, W, 3) RGB, grayscale files repeated
across the three channels, so that stained tissue keeps its colour.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

ISBI_SEED = 2012
ISBI_CANDIDATES = 20

__all__ = [
    "BenchData",
    "detect_kind",
    "draw_labeled",
    "is_colour",
    "load_bench_data",
    "read_gray",
    "read_rgb",
    "to_gray",
]


@dataclass(frozen=True)
class BenchData:
    """One benchmark's images, with the candidates to label and the fixed test split."""

    name: str
    kind: Literal["semantic", "instance"]
    num_classes: int
    pretrain_images: list[np.ndarray]
    candidate_images: list[np.ndarray]
    candidate_masks: list[np.ndarray]
    candidate_ids: list[str]
    test_images: list[np.ndarray]
    test_masks: list[np.ndarray]
    test_ids: list[str]

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "num_classes": self.num_classes,
            "pretrain_images": len(self.pretrain_images),
            "candidates": len(self.candidate_images),
            "test": len(self.test_images),
        }


def detect_kind(root: Path) -> Literal["dsb2018", "isbi2012"]:
    """Name the dataset a folder holds, by its contents."""
    if (root / "split.csv").is_file() and (root / "images").is_dir():
        return "dsb2018"
    if all((root / d).is_dir() for d in ("images", "masks", "unlabeled")):
        return "isbi2012"
    raise ValueError(
        f"{root} is neither a dsb2018 folder (split.csv, images/, labels/) nor an isbi2012 "
        "folder (images/, masks/, unlabeled/)"
    )


def read_gray(path: Path) -> np.ndarray:
    """Read an image as 2-D uint8 luminance (alpha dropped). Shape: (H, W)."""
    with Image.open(path) as im:
        if im.mode in ("L", "I;16", "I"):
            return np.asarray(im)
        return np.asarray(im.convert("RGB").convert("L"))


def read_rgb(path: Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB (alpha dropped, grayscale repeated)."""
    with Image.open(path) as im:
        if im.mode in ("I;16", "I"):
            raise ValueError(f"{path}: 16-bit images have no RGB reading; use channels=1")
        return np.asarray(im.convert("RGB"))


def is_colour(path: Path) -> bool:
    """Whether the image's RGB channels differ (stained tissue, brightfield), as opposed to a
    grey fluorescence frame stored as RGB."""
    rgb = read_rgb(path)
    return not (
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB image exactly as ``read_gray`` computes it; 2-D images pass through.

    The classic baselines work on luminance whichever way the networks read the images.
    """
    if image.ndim == 2:
        return image
    return np.asarray(Image.fromarray(image).convert("L"))


def _reader(channels: int) -> Callable[[Path], np.ndarray]:
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return read_gray if channels == 1 else read_rgb


def _read_labels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im).astype(np.int32)


def load_bench_data(root: Path, *, limit_test: int | None = None, channels: int = 1) -> BenchData:
    """Load a benchmark folder; ``limit_test`` keeps only the first N test images (smoke runs),
    ``channels`` is 1 (luminance) or 3 (RGB)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"data folder {root} does not exist")
    name = detect_kind(root)
    read = _reader(channels)
    data = _load_dsb2018(root, read) if name == "dsb2018" else _load_isbi2012(root, read)
    if limit_test is not None:
        data = BenchData(
            **{
                **data.__dict__,
                "test_images": data.test_images[:limit_test],
                "test_masks": data.test_masks[:limit_test],
                "test_ids": data.test_ids[:limit_test],
            }
        )
    return data


def _load_dsb2018(root: Path, read: Callable[[Path], np.ndarray]) -> BenchData:
    with (root / "split.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    pool = sorted(r["stem"] for r in rows if r["split"] == "pool")
    test = sorted(r["stem"] for r in rows if r["split"] == "test")
    if not pool or not test:
        raise ValueError(f"{root / 'split.csv'} needs both 'pool' and 'test' rows")
    pool_images = [read(root / "images" / f"{s}.png") for s in pool]
    # Labels of the pool are read lazily in spirit: only the drawn K are ever used for training.
    pool_masks = [_read_labels(root / "labels" / f"{s}.png") for s in pool]
    return BenchData(
        name="dsb2018",
        kind="instance",
        num_classes=2,
        pretrain_images=pool_images,
        candidate_images=pool_images,
        candidate_masks=pool_masks,
        candidate_ids=pool,
        test_images=[read(root / "images" / f"{s}.png") for s in test],
        test_masks=[_read_labels(root / "labels" / f"{s}.png") for s in test],
        test_ids=test,
    )


def _membrane(mask: np.ndarray) -> np.ndarray:
    """isbi2012 masks: 0 = membrane (the class of interest) -> 1, 255 = interior -> 0."""
    return (mask < 128).astype(np.int32)


def _load_isbi2012(root: Path, read: Callable[[Path], np.ndarray]) -> BenchData:
    def stems(folder: Path) -> list[str]:
        return sorted((p.stem for p in folder.glob("*.png")), key=lambda s: (len(s), s))

    labeled = stems(root / "images")
    if len(labeled) <= ISBI_CANDIDATES:
        raise ValueError(f"isbi2012 needs more than {ISBI_CANDIDATES} labeled sections")
    order = np.random.default_rng(ISBI_SEED).permutation(len(labeled))
    cand = [labeled[i] for i in order[:ISBI_CANDIDATES]]
    test = sorted((labeled[i] for i in order[ISBI_CANDIDATES:]), key=lambda s: (len(s), s))
    images = {s: read(root / "images" / f"{s}.png") for s in labeled}
    masks = {s: _membrane(_read_labels(root / "masks" / f"{s}.png")) for s in labeled}
    unlabeled = [read(root / "unlabeled" / f"{s}.png") for s in stems(root / "unlabeled")]
    return BenchData(
        name="isbi2012",
        kind="semantic",
        num_classes=2,
        pretrain_images=[images[s] for s in cand] + unlabeled,
        candidate_images=[images[s] for s in cand],
        candidate_masks=[masks[s] for s in cand],
        candidate_ids=cand,
        test_images=[images[s] for s in test],
        test_masks=[masks[s] for s in test],
        test_ids=test,
    )


def draw_labeled(num_candidates: int, labels: Sequence[int], seed: int) -> list[int]:
    """Indices of the candidates revealed to the annotator, nested: the first K for each K."""
    k_max = max(labels)
    if k_max > num_candidates:
        raise ValueError(
            f"--labels asks for {k_max} images but only {num_candidates} can be labeled"
        )
    order = np.random.default_rng(seed).permutation(num_candidates)
    return [int(i) for i in order[:k_max]]
