import json
import re
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from backend.config import Settings
from tests.backend.api.helpers import make_collection, make_image, put_mask, snapshot
from tests.backend.factories import decode_png, label_image, png_bytes, tiff_bytes


def test_save_annotation_creates_version_one(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    r = put_mask(admin, image["id"], png_bytes(label_image()), seconds_spent="12.5")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["source"] == "manual" and body["seconds_spent"] == 12.5
    assert body["object_count"] == 2 and body["author"] == "admin"
    assert admin.get(f"/api/v1/images/{image['id']}").json()["status"] == "labeled"


def test_every_save_is_a_new_version_and_old_ones_stay(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    first, second = label_image(objects=1), label_image(objects=3)
    put_mask(admin, image["id"], png_bytes(first))
    r = put_mask(admin, image["id"], png_bytes(second))
    assert r.json()["version"] == 2
    base = f"/api/v1/images/{image['id']}/annotation"
    assert np.array_equal(decode_png(admin.get(base).content), second)
    assert np.array_equal(decode_png(admin.get(base, params={"version": 1}).content), first)
    versions = admin.get(f"{base}/versions").json()
    assert [v["version"] for v in versions["data"]] == [1, 2]


def test_uint16_instance_mask_round_trips_bit_exact(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    labels = np.zeros((48, 64), dtype=np.uint16)
    labels[10:20, 10:20] = 300
    labels[30:40, 30:40] = 65535
    put_mask(admin, image["id"], png_bytes(labels))
    r = admin.get(f"/api/v1/images/{image['id']}/annotation")
    got = decode_png(r.content)
    assert got.dtype == np.uint16 and np.array_equal(got, labels)
    assert r.headers["x-annotation-version"] == "1"


def test_uint8_mask_comes_back_as_uint8(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    put_mask(admin, image["id"], png_bytes(label_image()))
    got = decode_png(admin.get(f"/api/v1/images/{image['id']}/annotation").content)
    assert got.dtype == np.uint8


def test_tiff_mask_is_accepted(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    labels = label_image(dtype=np.uint16)
    r = admin.put(
        f"/api/v1/images/{image['id']}/annotation",
        files={"mask": ("m.tif", tiff_bytes(labels), "image/tiff")},
    )
    assert r.status_code == 200, r.text
    assert np.array_equal(
        decode_png(admin.get(f"/api/v1/images/{image['id']}/annotation").content), labels
    )


def test_semantic_mask_with_valid_classes_is_accepted(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin, kind="semantic", classes=2)["id"])
    labels = np.zeros((48, 64), np.uint8)
    labels[:10] = 1
    labels[-10:] = 2
    assert put_mask(admin, image["id"], png_bytes(labels)).status_code == 200


def test_object_classes_are_stored(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin, classes=2)["id"])
    r = put_mask(admin, image["id"], png_bytes(label_image()), object_classes=json.dumps({"2": 2}))
    assert r.status_code == 200, r.text
    assert r.json()["object_classes"] == {"2": 2}


def test_get_annotation_before_any_save_is_404(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    r = admin.get(f"/api/v1/images/{image['id']}/annotation")
    assert r.status_code == 404
    assert "no annotation" in r.json()["detail"]


def test_unknown_version_is_404(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    put_mask(admin, image["id"], png_bytes(label_image()))
    assert (
        admin.get(f"/api/v1/images/{image['id']}/annotation", params={"version": 5}).status_code
        == 404
    )


def test_concurrent_saves_of_one_mask_lose_no_saved_version(admin: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    collection = make_collection(admin)
    images = [make_image(admin, collection["id"], seed=s) for s in range(2)]
    mask = png_bytes(label_image())

    def save(n: int) -> int:
        # Two images, one mask: the losers of a version race (409) must not delete the blob
        # that the winners, on either image, committed rows for.
        with httpx.Client(base_url=admin.base_url, headers=admin.headers) as client:
            return put_mask(client, images[n % 2]["id"], mask).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(save, range(16)))
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    for image in images:
        listed = admin.get(f"/api/v1/images/{image['id']}/annotation/versions").json()["data"]
        assert listed
        for row in listed:
            r = admin.get(
                f"/api/v1/images/{image['id']}/annotation", params={"version": row["version"]}
            )
            assert r.status_code == 200 and decode_png(r.content).max() == 2


def test_ids_of_deleted_rows_are_never_given_again(admin: httpx.Client) -> None:
    """A version's annotation_ids name the exact annotations it trained on: deleting the newest
    annotation (with its image) and saving another must not reuse its id (SQLite did, before
    migration 0005)."""
    collection = make_collection(admin)["id"]
    kept, doomed = make_image(admin, collection, seed=1), make_image(admin, collection, seed=2)
    assert put_mask(admin, kept["id"], png_bytes(label_image())).status_code == 200
    newest = put_mask(admin, doomed["id"], png_bytes(label_image())).json()["id"]
    assert admin.delete(f"/api/v1/images/{doomed['id']}").status_code == 200
    again = put_mask(admin, kept["id"], png_bytes(label_image(objects=3)))
    assert again.status_code == 200 and again.json()["id"] > newest
    assert make_image(admin, collection, seed=3)["id"] > doomed["id"]


def test_save_from_an_older_version_is_409_and_saves_nothing(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client], settings: Settings
) -> None:
    ann = user_client("annotator")
    image = make_image(admin, make_collection(admin)["id"])
    first, second = label_image(objects=1), label_image(objects=3)
    # Both opened the image before any save (base_version 0); the annotator saves first.
    assert put_mask(ann, image["id"], png_bytes(first), base_version="0").status_code == 200
    before = snapshot(settings)
    r = put_mask(admin, image["id"], png_bytes(second), base_version="0")
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert re.fullmatch(
        rf"Image {image['id']} was saved as version 1 by annotator0 at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC since you opened it without a saved annotation; "
        r"reload to see it, or save again to replace it\.",
        detail,
    ), detail
    assert r.headers["x-annotation-version"] == "1"
    assert snapshot(settings) == before
    # Saving again from the latest version replaces it; an older base is refused by name.
    r = put_mask(admin, image["id"], png_bytes(second), base_version="1")
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = put_mask(ann, image["id"], png_bytes(first), base_version="1")
    assert r.status_code == 409
    assert "saved as version 2 by admin" in r.json()["detail"]
    assert "since you opened version 1" in r.json()["detail"]
    base = f"/api/v1/images/{image['id']}/annotation"
    assert np.array_equal(decode_png(admin.get(base).content), second)


def test_without_base_version_every_save_still_wins(admin: httpx.Client) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    for expected in (1, 2, 3):
        r = put_mask(admin, image["id"], png_bytes(label_image(objects=expected)))
        assert r.status_code == 200 and r.json()["version"] == expected, r.text


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("-1", "base_version must be the version you edited from"),
        ("5", "base_version 5 does not exist: image {id} has version 1"),
        ("one", "base_version (body)"),
    ],
)
def test_bad_base_version_is_422(
    admin: httpx.Client, settings: Settings, base: str, message: str
) -> None:
    image = make_image(admin, make_collection(admin)["id"])
    put_mask(admin, image["id"], png_bytes(label_image()))
    before = snapshot(settings)
    r = put_mask(admin, image["id"], png_bytes(label_image(objects=1)), base_version=base)
    assert r.status_code == 422, r.text
    assert message.format(id=image["id"]) in r.json()["detail"]
    assert snapshot(settings) == before
