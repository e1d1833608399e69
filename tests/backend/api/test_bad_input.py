"""Every bad input gets a 4xx with a message, and leaves the database and the store as they were."""

import io
import json
import struct
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from backend.config import Settings
from tests.backend.api.helpers import make_collection, make_image, put_mask, snapshot, upload
from tests.backend.factories import gradient, label_image, png_bytes, tiff_bytes, zip_bytes


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; its pixel data is tiny (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient()).save(buffer, format="GIF")
    return buffer.getvalue()


BAD_UPLOADS = {
    "empty file": (("empty.png", b""), 422, "empty"),
    "html renamed png": (("page.png", b"<!doctype html><html><body>hi</body></html>"), None, ""),
    "text renamed png": (("notes.png", b"just some text\n" * 10), None, ""),
    "truncated png": (("cut.png", png_bytes(gradient(64, 64))[:200]), 422, ""),
    "truncated tiff": (("cut.tif", tiff_bytes(gradient(64, 64, np.uint16))[:300]), 422, ""),
    "decompression bomb": (("bomb.png", _png_claiming(100_000, 100_000)), 413, ""),
    "unsupported gif": (("anim.gif", _gif()), 415, ""),
    "z-stack tiff": (
        (
            "stack.tif",
            tiff_bytes(np.zeros((5, 16, 16), np.uint16), imagej=True, metadata={"axes": "ZYX"}),
        ),
        422,
        "not supported",
    ),
    "time series tiff": (
        (
            "movie.tif",
            tiff_bytes(np.zeros((4, 16, 16), np.uint16), imagej=True, metadata={"axes": "TYX"}),
        ),
        422,
        "not supported",
    ),
    "zip with ../ member": (
        ("evil.zip", zip_bytes({"../escape.png": png_bytes(gradient())})),
        422,
        "",
    ),
    "zip with absolute member": (
        ("abs.zip", zip_bytes({"/etc/x.png": png_bytes(gradient())})),
        422,
        "",
    ),
    "nested zip": (
        ("nest.zip", zip_bytes({"inner.zip": zip_bytes({"a.png": png_bytes(gradient())})})),
        422,
        "",
    ),
    "zip bomb": (("bomb.zip", zip_bytes({"zeros.png": b"\0" * (20 << 20)})), 422, ""),
    "corrupt zip": (("bad.zip", zip_bytes({"a.png": png_bytes(gradient())})[:-30]), 422, ""),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_4xx_and_changes_nothing(
    case: str, admin: httpx.Client, settings: Settings
) -> None:
    (name, data), status, words = BAD_UPLOADS[case]
    collection = make_collection(admin)
    make_image(admin, collection["id"], seed=99)
    before = snapshot(settings)
    r = upload(admin, collection["id"], (name, data))
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (case, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 10
    assert name in detail or "zip" in detail.lower()
    assert words in detail.lower()
    assert snapshot(settings) == before


def test_batch_with_one_bad_file_stores_nothing(admin: httpx.Client, settings: Settings) -> None:
    collection = make_collection(admin)
    before = snapshot(settings)
    r = upload(
        admin,
        collection["id"],
        ("good.png", png_bytes(gradient(seed=1))),
        ("good2.png", png_bytes(gradient(seed=2))),
        ("bad.png", b"not an image at all"),
    )
    assert r.status_code in (415, 422)
    assert "bad.png" in r.json()["detail"]
    assert snapshot(settings) == before


def test_file_over_size_limit_is_413(admin: httpx.Client, settings: Settings) -> None:
    collection = make_collection(admin)
    before = snapshot(settings)
    big = np.random.default_rng(0).integers(0, 255, settings.max_file_bytes + 10, dtype=np.uint8)
    r = upload(admin, collection["id"], ("big.png", big.tobytes()))
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]
    assert snapshot(settings) == before


def test_request_over_body_limit_is_413(admin: httpx.Client, settings: Settings) -> None:
    collection = make_collection(admin)
    chunk = b"\0" * (settings.max_file_bytes - 100)
    files = [(f"f{i}.png", chunk) for i in range(3)]
    r = upload(admin, collection["id"], *files)
    assert r.status_code == 413
    assert "MASKLOOP_MAX_UPLOAD_BYTES" in r.json()["detail"]


def test_upload_without_files_field_is_422(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    r = admin.post(f"/api/v1/collections/{collection['id']}/images", data={"other": "x"})
    assert r.status_code == 422


def test_upload_to_unknown_collection_is_404(admin: httpx.Client) -> None:
    r = upload(admin, 777, ("a.png", png_bytes(gradient())))
    assert r.status_code == 404


BAD_MASKS = {
    "wrong size": (png_bytes(np.zeros((10, 10), np.uint8)), "10"),
    "rgb colour mask": (png_bytes(np.zeros((48, 64, 3), np.uint8)), ""),
    "float mask": (tiff_bytes(np.full((48, 64), 0.5, np.float32)), ""),
    "class out of range": (png_bytes(np.full((48, 64), 3, np.uint8)), "3"),
    "empty mask": (b"", "empty"),
    "not an image": (b"hello world, not a mask", ""),
}


@pytest.mark.parametrize("case", list(BAD_MASKS))
def test_bad_mask_is_422_and_changes_nothing(
    case: str, admin: httpx.Client, settings: Settings
) -> None:
    data, words = BAD_MASKS[case]
    image = make_image(admin, make_collection(admin, kind="semantic", classes=2)["id"])
    put_mask(admin, image["id"], png_bytes(np.zeros((48, 64), np.uint8)))
    before = snapshot(settings)
    r = put_mask(admin, image["id"], data)
    assert r.status_code == 422, (case, r.text)
    assert words in r.json()["detail"].lower()
    assert snapshot(settings) == before


@pytest.mark.parametrize(
    "fields",
    [
        {"seconds_spent": "-1"},
        {"seconds_spent": "nan"},
        {"seconds_spent": "soon"},
        {"proposal_model_id": "0"},
        {"proposal_model_id": "abc"},
        {"proposal_model_id": "7"},
        {"object_classes": "not json"},
        {"object_classes": json.dumps({"9": 1})},
        {"object_classes": json.dumps({"1": 5})},
    ],
)
def test_bad_annotation_fields_are_422(
    fields: dict[str, str], admin: httpx.Client, settings: Settings
) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    before = snapshot(settings)
    r = put_mask(admin, image["id"], png_bytes(label_image()), **fields)
    assert r.status_code == 422, (fields, r.text)
    assert snapshot(settings) == before


def test_mask_for_unknown_image_is_404(admin: httpx.Client) -> None:
    assert put_mask(admin, 5050, png_bytes(label_image())).status_code == 404


def test_malformed_json_body_is_422(admin: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/collections", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
