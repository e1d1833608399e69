import httpx

from tests.conftest import ADMIN_PASSWORD


def test_healthz_answers_ok(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "workers": 0}


def test_login_sets_httponly_session_cookie(client: httpx.Client) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    assert r.json()["role"] == "admin"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/me").json()["username"] == "admin"


def test_login_with_wrong_password_is_401(client: httpx.Client) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert r.status_code == 401
    assert "wrong username or password" in r.json()["detail"].lower()


def test_login_with_unknown_user_is_401(client: httpx.Client) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "whatever1"})
    assert r.status_code == 401


def test_logout_ends_the_session(client: httpx.Client) -> None:
    client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    cookie = client.cookies.get("maskloop_session")
    assert client.post("/api/v1/auth/logout").status_code == 200
    # The old cookie is dead on the server, not only deleted in this client.
    r = client.get("/api/v1/me", cookies={"maskloop_session": cookie})
    assert r.status_code == 401


def test_me_without_credentials_is_401(client: httpx.Client) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"]


def test_malformed_authorization_header_is_401(client: httpx.Client) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"]


def test_token_is_shown_once_and_authenticates(admin: httpx.Client, client: httpx.Client) -> None:
    r = admin.post("/api/v1/tokens", json={"name": "script"})
    assert r.status_code == 201
    body = r.json()
    assert body["token"].startswith(body["prefix"])
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    listed = admin.get("/api/v1/tokens").json()["data"]
    assert all("token" not in t for t in listed)
    used = next(t for t in listed if t["id"] == body["id"])
    assert used["last_used_at"] is not None


def test_revoked_token_is_401(admin: httpx.Client, client: httpx.Client) -> None:
    body = admin.post("/api/v1/tokens", json={"name": "temp"}).json()
    assert admin.delete(f"/api/v1/tokens/{body['id']}").status_code == 200
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_unknown_token_is_401(client: httpx.Client) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer mlt_not-a-real-token"})
    assert r.status_code == 401


def test_revoking_someone_elses_token_is_404(user_client, admin: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    body = admin.post("/api/v1/tokens", json={"name": "admins"}).json()
    annotator = user_client("annotator")
    assert annotator.delete(f"/api/v1/tokens/{body['id']}").status_code == 404


def test_token_with_empty_name_is_422(admin: httpx.Client) -> None:
    assert admin.post("/api/v1/tokens", json={"name": ""}).status_code == 422


def test_create_user_then_login(admin: httpx.Client, client: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/users", json={"username": "ann", "password": "password-1", "role": "annotator"}
    )
    assert r.status_code == 201
    assert "password" not in r.text
    login = client.post("/api/v1/auth/login", json={"username": "ann", "password": "password-1"})
    assert login.json()["role"] == "annotator"


def test_create_duplicate_user_is_409(admin: httpx.Client) -> None:
    body = {"username": "ann", "password": "password-1", "role": "viewer"}
    assert admin.post("/api/v1/users", json=body).status_code == 201
    r = admin.post("/api/v1/users", json=body)
    assert r.status_code == 409
    assert "already exists" in r.json()["detail"]


def test_create_user_with_unknown_role_is_422(admin: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/users", json={"username": "x", "password": "password-1", "role": "boss"}
    )
    assert r.status_code == 422


def test_create_user_with_short_password_is_422(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/users", json={"username": "x", "password": "short", "role": "viewer"})
    assert r.status_code == 422
