from fastapi import APIRouter, status
from sqlalchemy import select

from backend.api.deps import AdminUser, SessionDep
from backend.orm import Role, User
from backend.schemas.accounts import UserCreate, UserPublic, UsersPublic
from backend.services import accounts

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, db: SessionDep, _admin: AdminUser) -> UserPublic:
    user = accounts.create_user(db, body.username, body.password, Role(body.role))
    db.commit()
    return UserPublic.model_validate(user)


@router.get("")
def list_users(db: SessionDep, _admin: AdminUser) -> UsersPublic:
    users = list(db.scalars(select(User).order_by(User.id)))
    return UsersPublic(data=[UserPublic.model_validate(u) for u in users], count=len(users))
