"""Collections and their image / labeled counts."""

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound
from backend.orm import Collection, Image, ImageStatus, User
from backend.schemas.collections import CollectionCreate, CollectionPublic


def create_collection(db: Session, spec: CollectionCreate, user: User) -> Collection:
    if db.scalar(select(Collection.id).where(Collection.name == spec.name)) is not None:
        raise Conflict(f"A collection named {spec.name!r} already exists; choose another name.")
    classes = [c.model_dump() for c in spec.classes] or [{"name": "object", "color": "#ff0000"}]
    collection = Collection(name=spec.name, kind=spec.kind, classes=classes, created_by_id=user.id)
    db.add(collection)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict(f"A collection named {spec.name!r} already exists.") from exc
    return collection


def get_collection(db: Session, collection_id: int) -> Collection:
    collection = db.get(Collection, collection_id)
    if collection is None:
        raise NotFound(f"No collection with id {collection_id}.")
    return collection


def get_collection_by_name(db: Session, name: str) -> Collection | None:
    return db.scalar(select(Collection).where(Collection.name == name))


def _counts(db: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    if not ids:
        return {}
    labeled = func.sum(case((Image.status == ImageStatus.labeled.value, 1), else_=0))
    rows = db.execute(
        select(Image.collection_id, func.count(Image.id), labeled)
        .where(Image.collection_id.in_(ids))
        .group_by(Image.collection_id)
    )
    return {cid: (int(total), int(done or 0)) for cid, total, done in rows}


def to_public(db: Session, collections: list[Collection]) -> list[CollectionPublic]:
    counts = _counts(db, [c.id for c in collections])
    out = []
    for c in collections:
        total, labeled = counts.get(c.id, (0, 0))
        public = CollectionPublic.model_validate(c)
        out.append(public.model_copy(update={"image_count": total, "labeled_count": labeled}))
    return out


def list_collections(db: Session, offset: int, limit: int) -> tuple[list[Collection], int]:
    total = db.scalar(select(func.count(Collection.id))) or 0
    rows = db.scalars(select(Collection).order_by(Collection.id).offset(offset).limit(limit))
    return list(rows), total
