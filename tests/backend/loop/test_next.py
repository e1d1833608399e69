"""Next image without a model: order, leases between annotators, held-out images."""

from collections.abc import Callable

import httpx

from tests.backend.api.helpers import make_collection, put_mask
from tests.backend.loop.data import label_of, upload_discs


def _collection(admin: httpx.Client, n: int) -> tuple[dict, list[dict]]:
    made = make_collection(admin, "next")
    admin.patch(
        f"/api/v1/collections/{made['id']}/settings",
        json={"auto_pretrain_min_images": 0, "retrain_every": 0},
    )
    return made, upload_discs(admin, made["id"], range(n))


def test_without_model_next_is_sequential(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, images = _collection(admin, 3)
    served = user_client("annotator").get(f"/api/v1/collections/{collection['id']}/next").json()
    assert served["id"] == images[0]["id"] and served["strategy"] == "sequential"
    assert served["uncertainty"] is None and served["lease_expires_at"]


def test_an_image_handed_to_one_annotator_is_not_handed_to_another(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, _ = _collection(admin, 3)
    alice, bob = user_client("annotator"), user_client("annotator")
    url = f"/api/v1/collections/{collection['id']}/next"
    a, b = alice.get(url).json(), bob.get(url).json()
    assert a["id"] != b["id"]
    assert alice.get(url).json()["id"] == a["id"], "asking again re-serves the reserved image"


def test_saving_releases_the_image_and_next_moves_on(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, images = _collection(admin, 2)
    annotator = user_client("annotator")
    url = f"/api/v1/collections/{collection['id']}/next"
    first = annotator.get(url).json()
    image = next(i for i in images if i["id"] == first["id"])
    assert put_mask(annotator, image["id"], label_of(image)).status_code == 200
    second = annotator.get(url).json()
    assert second["id"] != first["id"]


def test_next_is_404_when_nothing_is_left(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, images = _collection(admin, 1)
    put_mask(admin, images[0]["id"], label_of(images[0]))
    r = user_client("annotator").get(f"/api/v1/collections/{collection['id']}/next")
    assert r.status_code == 404 and "left" in r.json()["detail"]


def test_all_reserved_by_others_is_404(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, _ = _collection(admin, 1)
    url = f"/api/v1/collections/{collection['id']}/next"
    assert user_client("annotator").get(url).status_code == 200
    assert user_client("annotator").get(url).status_code == 404


def test_held_out_images_are_never_served(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, images = _collection(admin, 2)
    for loose in ("yes", 1):  # only a JSON boolean says it
        assert (
            admin.patch(f"/api/v1/images/{images[0]['id']}", json={"holdout": loose}).status_code
            == 422
        )
    r = admin.patch(f"/api/v1/images/{images[0]['id']}", json={"holdout": True})
    assert r.status_code == 200 and r.json()["holdout"] is True
    served = user_client("annotator").get(f"/api/v1/collections/{collection['id']}/next").json()
    assert served["id"] == images[1]["id"]


def test_unknown_strategy_is_422(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, _ = _collection(admin, 1)
    r = user_client("annotator").get(
        f"/api/v1/collections/{collection['id']}/next", params={"strategy": "vibes"}
    )
    assert r.status_code == 422


def test_viewers_cannot_take_images(
    admin: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection, _ = _collection(admin, 1)
    assert (
        user_client("viewer").get(f"/api/v1/collections/{collection['id']}/next").status_code == 403
    )


def test_holdout_update_rejects_unknown_fields(admin: httpx.Client) -> None:
    _made, images = _collection(admin, 1)
    r = admin.patch(
        f"/api/v1/images/{images[0]['id']}", json={"holdout": True, "status": "labeled"}
    )
    assert r.status_code == 422
