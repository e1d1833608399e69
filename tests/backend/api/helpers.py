"""Helpers for API tests: set-up through the API itself, and snapshots of what is stored."""

from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from backend.config import Settings
from tests.backend.factories import gradient, png_bytes


def make_collection(
    admin: httpx.Client, name: str = "nuclei", kind: str = "instance", classes: int = 1
) -> dict:
    body = {
        "name": name,
        "kind": kind,
        "classes": [{"name": f"c{i + 1}", "color": "#00ff00"} for i in range(classes)],
    }
    r = admin.post("/api/v1/collections", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def upload(admin: httpx.Client, collection_id: int, *files: tuple[str, bytes]) -> httpx.Response:
    return admin.post(
        f"/api/v1/collections/{collection_id}/images",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def make_image(
    admin: httpx.Client, collection_id: int, seed: int = 0, h: int = 48, w: int = 64
) -> dict:
    r = upload(admin, collection_id, (f"img{seed}.png", png_bytes(gradient(h, w, seed=seed))))
    assert r.status_code == 201, r.text
    return r.json()["data"][0]


def put_mask(client: httpx.Client, image_id: int, data: bytes, **fields: str) -> httpx.Response:
    return client.put(
        f"/api/v1/images/{image_id}/annotation",
        files={"mask": ("mask.png", data, "image/png")},
        data=fields,
    )


def snapshot(settings: Settings) -> tuple[dict[str, int], list[str]]:
    """Row counts per table and the blob files: what "nothing changed" is checked against."""
    engine = create_engine(settings.database_url)
    counts = {}
    with engine.connect() as conn:
        for table in ("users", "api_tokens", "collections", "images", "annotations"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    root = Path(settings.blob_dir)
    blobs = sorted(p.name for p in root.glob("??/*")) if root.exists() else []
    tmp = root.parent / "tmp"
    leftovers = sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []
    return counts, blobs + [f"tmp/{n}" for n in leftovers]
