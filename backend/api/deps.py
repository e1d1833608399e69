"""Request dependencies as ``Annotated`` aliases: database session, settings, store, user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import session_scope
from backend.errors import Forbidden, Unauthorized
from backend.orm import Role, User
from backend.services import accounts
from backend.storage import BlobStore

SESSION_COOKIE = "maskloop_session"


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.session_factory) as session:
        yield session


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> BlobStore:
    return request.app.state.store


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StorageDep = Annotated[BlobStore, Depends(get_store)]


def get_current_user(request: Request, db: SessionDep) -> User:
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized(
                "Malformed Authorization header; send 'Authorization: Bearer <token>'."
            )
        user = accounts.user_for_token(db, secret.strip())
        if user is None:
            raise Unauthorized("This API token is unknown or revoked; create a new one.")
        db.commit()  # keep last_used_at even if the request fails later
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = accounts.user_for_session(db, cookie)
        if user is not None:
            return user
        raise Unauthorized("Your session has expired; log in again.")
    raise Unauthorized(
        "Not authenticated: log in (POST /api/v1/auth/login) or send "
        "'Authorization: Bearer <token>'."
    )


CurrentUser = Annotated[User, Depends(get_current_user)]


def _require(role: Role):  # type: ignore[no-untyped-def]
    def check(user: CurrentUser) -> User:
        if Role(user.role).rank < role.rank:
            raise Forbidden(f"This needs the {role.value} role; you are {user.role}.")
        return user

    return check


ViewerUser = CurrentUser
AnnotatorUser = Annotated[User, Depends(_require(Role.annotator))]
AdminUser = Annotated[User, Depends(_require(Role.admin))]
