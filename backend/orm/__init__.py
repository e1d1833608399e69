"""The SQLAlchemy ORM (named ``orm`` because ``models`` is the learning package)."""

from backend.db import Base
from backend.orm.accounts import ApiToken, Role, User, UserSession
from backend.orm.annotations import Annotation, AnnotationSource
from backend.orm.collections import Collection, CollectionKind
from backend.orm.images import Image, ImageStatus
from backend.orm.jobs import Job, JobKind, JobStatus, Worker
from backend.orm.learning import (
    Correction,
    Encoder,
    ImageLease,
    ModelStatus,
    ModelVersion,
    Prediction,
)

__all__ = [
    "Annotation",
    "AnnotationSource",
    "ApiToken",
    "Base",
    "Collection",
    "CollectionKind",
    "Correction",
    "Encoder",
    "Image",
    "ImageLease",
    "ImageStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "ModelStatus",
    "ModelVersion",
    "Prediction",
    "Role",
    "User",
    "UserSession",
    "Worker",
]
