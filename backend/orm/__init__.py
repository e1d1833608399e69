"""The SQLAlchemy ORM (named ``orm`` because ``models`` is the learning package)."""

from backend.db import Base
from backend.orm.accounts import ApiToken, Role, User, UserSession
from backend.orm.annotations import Annotation, AnnotationSource
from backend.orm.collections import Collection, CollectionKind
from backend.orm.images import Image, ImageStatus

__all__ = [
    "Annotation",
    "AnnotationSource",
    "ApiToken",
    "Base",
    "Collection",
    "CollectionKind",
    "Image",
    "ImageStatus",
    "Role",
    "User",
    "UserSession",
]
