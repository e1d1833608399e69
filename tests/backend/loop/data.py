"""Tiny synthetic nuclei: bright discs on a dark noisy background, with instance labels."""

import numpy as np

from tests.backend.factories import png_bytes


def discs(seed: int, size: int = 64, count: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(30, 6, (size, size))
    labels = np.zeros((size, size), np.uint8)
    for obj in range(1, count + 1):
        cy, cx = rng.integers(10, size - 10, 2)
        r = rng.integers(5, 9)
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        image[inside] = rng.normal(180, 10, inside.sum())
        labels[inside & (labels == 0)] = obj
    return np.clip(image, 0, 255).astype(np.uint8), labels


def upload_discs(admin, collection_id: int, seeds: range) -> list[dict]:  # type: ignore[no-untyped-def]
    files = [("files", (f"d{s}.png", png_bytes(discs(s)[0]), "image/png")) for s in seeds]
    r = admin.post(f"/api/v1/collections/{collection_id}/images", files=files)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def label_of(image: dict) -> bytes:
    seed = int(image["filename"][1:].split(".")[0])
    return png_bytes(discs(seed)[1])
