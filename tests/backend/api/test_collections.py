import httpx

from tests.backend.api.helpers import make_collection, make_image, put_mask
from tests.backend.factories import label_image, png_bytes


def test_create_collection_returns_it_with_counts(admin: httpx.Client) -> None:
    body = make_collection(admin, "cells", "semantic", classes=2)
    assert body["kind"] == "semantic"
    assert [c["name"] for c in body["classes"]] == ["c1", "c2"]
    assert body["image_count"] == 0 and body["labeled_count"] == 0


def test_collection_without_classes_gets_one_default_class(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/collections", json={"name": "x", "kind": "instance"})
    assert r.status_code == 201
    assert len(r.json()["classes"]) == 1


def test_duplicate_collection_name_is_409(admin: httpx.Client) -> None:
    make_collection(admin, "same")
    r = admin.post("/api/v1/collections", json={"name": "same", "kind": "instance", "classes": []})
    assert r.status_code == 409
    assert "already exists" in r.json()["detail"]


def test_collection_with_unknown_kind_is_422(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/collections", json={"name": "x", "kind": "panoptic", "classes": []})
    assert r.status_code == 422


def test_collection_with_bad_colour_is_422(admin: httpx.Client) -> None:
    body = {"name": "x", "kind": "semantic", "classes": [{"name": "a", "color": "red"}]}
    assert admin.post("/api/v1/collections", json=body).status_code == 422


def test_collection_with_duplicate_class_names_is_422(admin: httpx.Client) -> None:
    body = {"name": "x", "kind": "semantic", "classes": [{"name": "a"}, {"name": "a"}]}
    r = admin.post("/api/v1/collections", json=body)
    assert r.status_code == 422
    assert "unique" in r.text


def test_list_collections_counts_labeled_images(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    first = make_image(admin, collection["id"], seed=1)
    make_image(admin, collection["id"], seed=2)
    assert put_mask(admin, first["id"], png_bytes(label_image())).status_code == 200
    listing = admin.get("/api/v1/collections").json()
    assert listing["count"] == 1
    assert listing["data"][0]["image_count"] == 2
    assert listing["data"][0]["labeled_count"] == 1


def test_get_unknown_collection_is_404(admin: httpx.Client) -> None:
    r = admin.get("/api/v1/collections/999")
    assert r.status_code == 404
    assert "999" in r.json()["detail"]
