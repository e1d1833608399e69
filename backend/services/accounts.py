"""Users, logins, sessions and API tokens."""

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound, Unauthorized
from backend.orm import ApiToken, Role, User, UserSession
from backend.orm._types import as_utc, utcnow
from backend.security import hash_password, new_secret, secret_hash, verify_password

TOKEN_PREFIX = "mlt"
SESSION_PREFIX = "mls"
_BAD_LOGIN = "Wrong username or password."


def create_user(db: Session, username: str, password: str, role: Role) -> User:
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"A user named {username!r} already exists; choose another username.")
    user = User(username=username, password_hash=hash_password(password), role=role.value)
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict(f"A user named {username!r} already exists.") from exc
    return user


def get_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def authenticate(db: Session, username: str, password: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        raise Unauthorized(_BAD_LOGIN)
    return user


def open_session(db: Session, user: User, hours: float) -> str:
    secret = new_secret(SESSION_PREFIX)
    db.add(
        UserSession(
            user_id=user.id,
            token_hash=secret_hash(secret),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return secret


def close_session(db: Session, secret: str) -> None:
    row = db.scalar(select(UserSession).where(UserSession.token_hash == secret_hash(secret)))
    if row is not None:
        db.delete(row)


def user_for_session(db: Session, secret: str) -> User | None:
    row = db.scalar(select(UserSession).where(UserSession.token_hash == secret_hash(secret)))
    if row is None:
        return None
    if as_utc(row.expires_at) < utcnow() or not row.user.is_active:
        return None
    return row.user


def create_token(
    db: Session, user: User, name: str, secret: str | None = None
) -> tuple[ApiToken, str]:
    secret = secret or new_secret(TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, name=name, token_hash=secret_hash(secret), prefix=secret[:8])
    db.add(token)
    db.flush()
    return token, secret


def user_for_token(db: Session, secret: str) -> User | None:
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user


def revoke_token(db: Session, user: User, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id)
    # Admins may revoke anyone's token; others only their own. Others' ids look absent.
    if token is None or (token.user_id != user.id and user.role != Role.admin):
        raise NotFound(f"No API token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def list_tokens(db: Session, user: User) -> list[ApiToken]:
    return list(
        db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def ensure_admin(db: Session, username: str, password: str | None) -> tuple[User, str | None]:
    """Make sure an admin exists. Returns the admin and a generated password if one was made."""
    user = db.scalar(select(User).where(User.username == username))
    generated = None
    if user is None:
        generated = None if password else secrets.token_urlsafe(12)
        user = create_user(db, username, password or generated or "", Role.admin)
    elif password and not verify_password(password, user.password_hash):
        # The configured password is authoritative, so a forgotten one can be reset.
        user.password_hash = hash_password(password)
    if user.role != Role.admin:
        user.role = Role.admin.value
    return user, generated


def ensure_admin_token(db: Session, admin: User, secret: str) -> None:
    """Guarantee an admin API token with exactly this value (for automation)."""
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(secret)))
    if token is None:
        create_token(db, admin, "MASKLOOP_ADMIN_TOKEN", secret)
    elif token.revoked_at is not None or token.user_id != admin.id:
        token.revoked_at = None
        token.user_id = admin.id
