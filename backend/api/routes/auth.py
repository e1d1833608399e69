from fastapi import APIRouter, Request, Response

from backend.api.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep
from backend.schemas.accounts import LoginRequest, UserPublic
from backend.schemas.common import Message
from backend.services import accounts

router = APIRouter(tags=["auth"])


@router.post("/auth/login")
def login(
    body: LoginRequest, response: Response, db: SessionDep, settings: SettingsDep
) -> UserPublic:
    user = accounts.authenticate(db, body.username, body.password)
    secret = accounts.open_session(db, user, settings.session_hours)
    # Commit before answering: the client may use the cookie the moment it arrives.
    db.commit()
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return UserPublic.model_validate(user)


@router.post("/auth/logout")
def logout(request: Request, response: Response, db: SessionDep) -> Message:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        accounts.close_session(db, secret)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return Message(status="logged out")


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
