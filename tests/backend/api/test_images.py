import hashlib

import httpx
import numpy as np

from backend.config import Settings
from tests.backend.api.helpers import make_collection, make_image, put_mask, snapshot, upload
from tests.backend.factories import (
    decode_png,
    gradient,
    jpeg_bytes,
    label_image,
    png_bytes,
    tiff_bytes,
    zip_bytes,
)


def test_upload_png_records_metadata(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    r = upload(admin, collection["id"], ("a.png", png_bytes(gradient(48, 64))))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 1
    image = body["data"][0]
    assert {k: image[k] for k in ("filename", "width", "height", "channels", "dtype")} == {
        "filename": "a.png",
        "width": 64,
        "height": 48,
        "channels": 1,
        "dtype": "uint8",
    }
    assert image["status"] == "unlabeled" and image["duplicate"] is False


def test_upload_16bit_tiff_keeps_original_bytes(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    data = tiff_bytes(gradient(40, 30, np.uint16))
    image = upload(admin, collection["id"], ("deep.tif", data)).json()["data"][0]
    assert image["dtype"] == "uint16" and image["width"] == 30 and image["height"] == 40
    original = admin.get(f"/api/v1/images/{image['id']}/file")
    assert original.content == data
    assert original.headers["content-type"] == "image/tiff"
    assert image["sha256"] == hashlib.sha256(data).hexdigest()


def test_upload_multichannel_tiff_counts_channels(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    stack = np.stack([gradient(32, 32, np.uint16, seed=s) for s in range(3)])
    data = tiff_bytes(stack, photometric="minisblack", metadata={"axes": "CYX"})
    image = upload(admin, collection["id"], ("3ch.tif", data)).json()["data"][0]
    assert image["channels"] == 3


def test_upload_jpeg_rgb(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    rgb = np.stack([gradient(32, 48, seed=s) for s in range(3)], axis=-1)
    image = upload(admin, collection["id"], ("he.jpg", jpeg_bytes(rgb))).json()["data"][0]
    assert image["channels"] == 3 and image["format"] == "jpeg"


def test_upload_zip_adds_every_member(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    archive = zip_bytes({f"dir/{i}.png": png_bytes(gradient(seed=i)) for i in range(3)})
    r = upload(admin, collection["id"], ("batch.zip", archive))
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 3
    assert admin.get(f"/api/v1/collections/{collection['id']}/images").json()["count"] == 3


def test_upload_same_bytes_twice_returns_existing_image(
    admin: httpx.Client, settings: Settings
) -> None:
    collection = make_collection(admin)
    data = png_bytes(gradient())
    first = upload(admin, collection["id"], ("a.png", data)).json()["data"][0]
    before = snapshot(settings)
    second = upload(admin, collection["id"], ("renamed.png", data)).json()["data"][0]
    assert second["id"] == first["id"] and second["duplicate"] is True
    assert snapshot(settings) == before


def test_same_bytes_in_two_collections_are_two_images(admin: httpx.Client) -> None:
    data = png_bytes(gradient())
    a = upload(admin, make_collection(admin, "a")["id"], ("x.png", data)).json()["data"][0]
    b = upload(admin, make_collection(admin, "b")["id"], ("x.png", data)).json()["data"][0]
    assert a["id"] != b["id"]


def test_render_is_8bit_png_spanning_the_range(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    data = tiff_bytes(gradient(40, 60, np.uint16))
    image = upload(admin, collection["id"], ("deep.tif", data)).json()["data"][0]
    r = admin.get(f"/api/v1/images/{image['id']}/render")
    assert r.headers["content-type"] == "image/png"
    pixels = decode_png(r.content)
    assert pixels.dtype == np.uint8 and pixels.shape[:2] == (40, 60)
    assert pixels.min() < 20 and pixels.max() > 235


def test_thumbnail_is_small_png(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    image = make_image(admin, collection["id"], h=600, w=400)
    thumb = decode_png(admin.get(f"/api/v1/images/{image['id']}/thumbnail").content)
    assert max(thumb.shape[:2]) <= 256


def test_list_images_filters_by_status_and_pages(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    ids = [make_image(admin, collection["id"], seed=s)["id"] for s in range(3)]
    put_mask(admin, ids[1], png_bytes(label_image()))
    base = f"/api/v1/collections/{collection['id']}/images"
    labeled = admin.get(base, params={"status": "labeled"}).json()
    assert [i["id"] for i in labeled["data"]] == [ids[1]]
    page = admin.get(base, params={"offset": 1, "limit": 1}).json()
    assert page["count"] == 3 and [i["id"] for i in page["data"]] == [ids[1]]


def test_list_images_with_unknown_status_is_422(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    r = admin.get(f"/api/v1/collections/{collection['id']}/images", params={"status": "done"})
    assert r.status_code == 422


def test_delete_image_removes_row_and_unshared_blobs(
    admin: httpx.Client, settings: Settings
) -> None:
    collection = make_collection(admin)
    before = snapshot(settings)
    image = make_image(admin, collection["id"])
    put_mask(admin, image["id"], png_bytes(label_image()))
    assert admin.delete(f"/api/v1/images/{image['id']}").status_code == 200
    assert admin.get(f"/api/v1/images/{image['id']}").status_code == 404
    assert snapshot(settings) == before


def test_delete_keeps_blobs_shared_with_another_collection(admin: httpx.Client) -> None:
    data = png_bytes(gradient())
    a = upload(admin, make_collection(admin, "a")["id"], ("x.png", data)).json()["data"][0]
    b = upload(admin, make_collection(admin, "b")["id"], ("x.png", data)).json()["data"][0]
    admin.delete(f"/api/v1/images/{a['id']}")
    assert admin.get(f"/api/v1/images/{b['id']}/file").content == data


def test_unknown_image_is_404(admin: httpx.Client) -> None:
    for suffix in ("", "/file", "/render", "/thumbnail", "/annotation", "/annotation/versions"):
        r = admin.get(f"/api/v1/images/4242{suffix}")
        assert r.status_code == 404, suffix
        assert "4242" in r.json()["detail"]
    assert admin.delete("/api/v1/images/4242").status_code == 404


def test_download_names_keep_non_latin_filenames(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    r = upload(admin, collection["id"], ("細胞 «1».png", png_bytes(gradient(16, 16))))
    image = r.json()["data"][0]
    download = admin.get(f"/api/v1/images/{image['id']}/file")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E7%B4%B0%E8%83%9E%20%C2%AB1%C2%BB.png" in disposition


def test_control_characters_in_zip_member_names_are_replaced(admin: httpx.Client) -> None:
    collection = make_collection(admin)
    archive = zip_bytes({"bad\r\nX-Injected: 1\r\n.png": png_bytes(gradient(16, 16))})
    image = upload(admin, collection["id"], ("z.zip", archive)).json()["data"][0]
    assert image["filename"].endswith("bad__X-Injected: 1__.png")
    download = admin.get(f"/api/v1/images/{image['id']}/file")
    assert download.status_code == 200 and "x-injected" not in download.headers


def test_concurrent_uploads_of_one_file_make_one_image_whose_files_survive(
    admin: httpx.Client,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    collection = make_collection(admin)
    data = png_bytes(gradient(64, 64, seed=7))
    broken = ("broken.png", b"\x89PNG\r\n\x1a\nnot really")

    def send(n: int) -> int:
        # Half the requests carry a broken second file, so they fail and roll back while the
        # others commit the same content: their clean-up must not delete the shared blobs.
        files = [("same.png", data), *([broken] if n % 2 else [])]
        with httpx.Client(base_url=admin.base_url, headers=admin.headers) as client:
            return upload(client, collection["id"], *files).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(16)))
    assert all(s in (200, 201) for s in statuses[::2]), statuses
    assert all(400 <= s < 500 for s in statuses[1::2]), statuses
    listed = admin.get(f"/api/v1/collections/{collection['id']}/images").json()["data"]
    assert len(listed) == 1
    for part in ("file", "render", "thumbnail"):
        assert admin.get(f"/api/v1/images/{listed[0]['id']}/{part}").status_code == 200


def test_one_collection_takes_one_channel_layout(admin: httpx.Client, settings: Settings) -> None:
    collection = make_collection(admin)
    grey = png_bytes(gradient(32, 32))
    rgb = png_bytes(np.stack([gradient(32, 32, seed=s) for s in range(3)], axis=-1))
    five = tiff_bytes(
        np.stack([gradient(32, 32, np.uint16, seed=s) for s in range(5)]),
        photometric="minisblack",
        metadata={"axes": "CYX"},
    )
    # Grey and RGB mix (the network repeats grey), so both go in.
    assert upload(admin, collection["id"], ("g.png", grey), ("c.png", rgb)).status_code == 201
    before = snapshot(settings)
    r = upload(
        admin,
        collection["id"],
        ("more.png", png_bytes(gradient(32, 32, seed=9))),
        ("five.tif", five),
    )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("five.tif: a 5-channel image cannot join")
    assert snapshot(settings) == before
    # A collection of 5-channel images takes them, and then refuses grey.
    stacks = make_collection(admin, "stacks")
    assert upload(admin, stacks["id"], ("five.tif", five)).status_code == 201
    assert upload(admin, stacks["id"], ("g.png", grey)).status_code == 422
