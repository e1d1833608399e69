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


@pytest.mark.parametrize("kind", ["json", "multipart"])
def test_chunked_body_over_limit_is_413(admin: httpx.Client, settings: Settings, kind: str) -> None:
    """Without a Content-Length the limit is counted as the body streams in."""
    collection = make_collection(admin)
    before = snapshot(settings)
    filler = b"x" * (1 << 16)
    n = settings.max_upload_bytes // len(filler) + 2
    if kind == "json":
        url, content_type = "/api/v1/tokens", "application/json"
        parts = [b'{"name": "', *([filler] * n), b'"}']
    else:
        url = f"/api/v1/collections/{collection['id']}/images"
        content_type = "multipart/form-data; boundary=b0undary"
        head = (
            b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
        )
        parts = [head, *([filler] * n), b"\r\n--b0undary--\r\n"]
    r = admin.post(url, content=iter(parts), headers={"content-type": content_type})
    assert r.status_code == 413, r.text
    assert "MASKLOOP_MAX_UPLOAD_BYTES" in r.json()["detail"]
    assert snapshot(settings) == before


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


def test_text_with_a_lone_surrogate_is_422_not_500(admin: httpx.Client) -> None:
    # "\ud800" is a valid JSON escape but no UTF-8 text; the 422 echoing it must still encode.
    body = '{"username": "x", "password": "a-long-\\ud800password", "role": "annotator"}'
    r = admin.post(
        "/api/v1/users", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("password (body): ")
    assert body["errors"][0]["loc"] == ["body", "password"] and "input" not in body["errors"][0]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_numbers_are_422_not_500(admin: httpx.Client, literal: str) -> None:
    collection = make_collection(admin)
    r = admin.post(
        f"/api/v1/collections/{collection['id']}/jobs",
        content=f'{{"kind": "train", "params": {{"minutes": {literal}}}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and "minutes" in r.json()["detail"], r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/images/{big}",
        "/api/v1/collections/{big}",
        "/api/v1/models/{big}",
        "/api/v1/jobs/{big}",
        "/api/v1/collections?offset={big}",
        "/api/v1/images/{image}/prediction?model={big}",
        "/api/v1/images/{image}/annotation?version={big}",
    ],
)
@pytest.mark.parametrize("big", [2**31, 2**63, 10**22])
def test_ids_past_the_databases_integers_are_4xx(admin: httpx.Client, path: str, big: int) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    r = admin.get(path.format(big=big, image=image["id"]))
    if r.status_code == 200:  # an offset past the end is a page with nothing on it
        assert "offset" in path and r.json()["data"] == []
    else:
        assert r.status_code in (404, 422), r.text
        assert "detail" in r.json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/collections", {"name": "nu\u0000clei", "kind": "instance"}),
        ("/api/v1/collections", {"name": "n", "kind": "instance", "classes": [{"name": "a\nb"}]}),
        ("/api/v1/tokens", {"name": "script\u0000"}),
        ("/api/v1/auth/login", {"username": "ad\u0000min", "password": "whatever"}),
    ],
)
def test_names_with_control_characters_are_422(
    admin: httpx.Client, settings: Settings, path: str, body: dict
) -> None:
    # PostgreSQL text cannot hold NUL: refused as input, not failed in the database.
    before = snapshot(settings)
    r = admin.post(path, json=body)
    assert r.status_code == 422 and "control characters" in r.json()["detail"], r.text
    assert snapshot(settings) == before
