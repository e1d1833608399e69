from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas.common import Name, Public, UtcDatetime

RoleName = Literal["viewer", "annotator", "admin"]
Username = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class LoginRequest(BaseModel):
    username: Name = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserCreate(BaseModel):
    username: str = Username
    password: str = Field(min_length=8, max_length=1024)
    role: RoleName = "annotator"


class UserPublic(Public):
    id: int
    username: str
    role: RoleName
    is_active: bool
    created_at: UtcDatetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class TokenCreate(BaseModel):
    name: Name = Field(min_length=1, max_length=128)


class TokenPublic(Public):
    id: int
    name: str
    prefix: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked_at: UtcDatetime | None


class TokenCreated(TokenPublic):
    token: str  # shown once, never stored in clear


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int
