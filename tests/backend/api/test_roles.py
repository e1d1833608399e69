"""Every endpoint x every role: the status each must get. One test per role runs the whole row."""

from collections.abc import Callable

import httpx
import pytest

from tests.backend.api.helpers import make_collection, make_image, put_mask
from tests.backend.factories import gradient, label_image, png_bytes

# (method, path template, body kind, expected status for viewer / annotator / admin)
ROWS: list[tuple[str, str, str, dict[str, int]]] = [
    ("GET", "/api/v1/me", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("POST", "/api/v1/tokens", "token", {"viewer": 201, "annotator": 201, "admin": 201}),
    ("GET", "/api/v1/tokens", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("POST", "/api/v1/users", "user", {"viewer": 403, "annotator": 403, "admin": 201}),
    ("GET", "/api/v1/users", "", {"viewer": 403, "annotator": 403, "admin": 200}),
    ("POST", "/api/v1/collections", "collection", {"viewer": 403, "annotator": 403, "admin": 201}),
    ("GET", "/api/v1/collections", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("GET", "/api/v1/collections/{cid}", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    (
        "POST",
        "/api/v1/collections/{cid}/images",
        "image",
        {"viewer": 403, "annotator": 403, "admin": 201},
    ),
    (
        "GET",
        "/api/v1/collections/{cid}/images",
        "",
        {"viewer": 200, "annotator": 200, "admin": 200},
    ),
    ("GET", "/api/v1/images/{iid}", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("GET", "/api/v1/images/{iid}/file", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("GET", "/api/v1/images/{iid}/render", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    ("GET", "/api/v1/images/{iid}/thumbnail", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    (
        "PUT",
        "/api/v1/images/{iid}/annotation",
        "mask",
        {"viewer": 403, "annotator": 200, "admin": 200},
    ),
    ("GET", "/api/v1/images/{iid}/annotation", "", {"viewer": 200, "annotator": 200, "admin": 200}),
    (
        "GET",
        "/api/v1/images/{iid}/annotation/versions",
        "",
        {"viewer": 200, "annotator": 200, "admin": 200},
    ),
    ("DELETE", "/api/v1/images/{iid}", "", {"viewer": 403, "annotator": 403, "admin": 200}),
]


def _call(http: httpx.Client, method: str, path: str, body: str, n: int) -> httpx.Response:
    if body == "token":
        return http.post(path, json={"name": "t"})
    if body == "user":
        return http.post(
            path, json={"username": f"made{n}", "password": "password-1", "role": "viewer"}
        )
    if body == "collection":
        return http.post(path, json={"name": f"col{n}", "kind": "instance", "classes": []})
    if body == "image":
        return http.post(
            path, files={"files": ("x.png", png_bytes(gradient(seed=100 + n)), "image/png")}
        )
    if body == "mask":
        return http.put(path, files={"mask": ("m.png", png_bytes(label_image()), "image/png")})
    return http.request(method, path)


@pytest.mark.parametrize("role", ["anonymous", "revoked", "viewer", "annotator", "admin"])
def test_each_endpoint_answers_role_as_specified(
    role: str, admin: httpx.Client, client: httpx.Client, user_client: Callable[[str], httpx.Client]
) -> None:
    collection = make_collection(admin, "roles")
    image = make_image(admin, collection["id"])
    put_mask(admin, image["id"], png_bytes(label_image()))
    if role == "anonymous":
        http = client
    elif role == "revoked":
        token = admin.post("/api/v1/tokens", json={"name": "gone"}).json()
        admin.delete(f"/api/v1/tokens/{token['id']}")
        http = httpx.Client(
            base_url=str(client.base_url), headers={"Authorization": f"Bearer {token['token']}"}
        )
    else:
        http = user_client(role)
    wrong = []
    for n, (method, template, body, expected) in enumerate(ROWS):
        path = template.format(cid=collection["id"], iid=image["id"])
        want = expected.get(role, 401)
        r = _call(http, method, path, body, n)
        if r.status_code != want:
            wrong.append(f"{method} {path}: got {r.status_code}, want {want}: {r.text[:120]}")
        if r.status_code >= 400:
            assert isinstance(r.json()["detail"], str), path
    assert not wrong, "\n".join(wrong)
