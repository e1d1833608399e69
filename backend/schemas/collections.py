from typing import Literal

from pydantic import BaseModel, Field, field_validator

from backend.schemas.common import Name, Public, UtcDatetime


class ClassSpec(BaseModel):
    name: Name = Field(min_length=1, max_length=64)
    color: str = Field(default="#ff0000", pattern=r"^#[0-9a-fA-F]{6}$")


class CollectionBase(BaseModel):
    name: Name = Field(min_length=1, max_length=200)
    kind: Literal["semantic", "instance"]
    classes: list[ClassSpec] = Field(default_factory=list, max_length=254)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("classes")
    @classmethod
    def _unique_names(cls, value: list[ClassSpec]) -> list[ClassSpec]:
        names = [c.name for c in value]
        if len(set(names)) != len(names):
            raise ValueError("class names must be unique")
        return value


class CollectionCreate(CollectionBase):
    pass


class CollectionPublic(Public):
    id: int
    name: str
    kind: Literal["semantic", "instance"]
    classes: list[ClassSpec]
    created_at: UtcDatetime
    image_count: int = 0
    labeled_count: int = 0


class CollectionsPublic(BaseModel):
    data: list[CollectionPublic]
    count: int
