from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from backend.api.deps import AdminUser, SessionDep, SettingsDep, StorageDep, ViewerUser
from backend.orm import ImageStatus
from backend.schemas.collections import CollectionCreate, CollectionPublic, CollectionsPublic
from backend.schemas.images import ImagePublic, ImagesPublic, UploadedImage, UploadResult
from backend.services import collections as service
from backend.services import images as image_service

router = APIRouter(prefix="/collections", tags=["collections"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_collection(body: CollectionCreate, db: SessionDep, user: AdminUser) -> CollectionPublic:
    collection = service.create_collection(db, body, user)
    db.commit()
    return service.to_public(db, [collection])[0]


@router.get("")
def list_collections(
    db: SessionDep,
    _user: ViewerUser,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CollectionsPublic:
    rows, total = service.list_collections(db, offset, limit)
    return CollectionsPublic(data=service.to_public(db, rows), count=total)


@router.get("/{collection_id}")
def get_collection(collection_id: int, db: SessionDep, _user: ViewerUser) -> CollectionPublic:
    return service.to_public(db, [service.get_collection(db, collection_id)])[0]


@router.post("/{collection_id}/images", status_code=status.HTTP_201_CREATED)
def upload_images(
    collection_id: int,
    files: Annotated[list[UploadFile], File(description="images, or zips of images")],
    db: SessionDep,
    store: StorageDep,
    settings: SettingsDep,
    user: AdminUser,
) -> UploadResult:
    collection = service.get_collection(db, collection_id)
    incoming = []
    for upload in files:
        # Read one byte past the limit so an oversized file is detected, not truncated.
        data = upload.file.read(settings.max_file_bytes + 1)
        incoming.append(image_service.IncomingFile(upload.filename or "upload", data))
    results = image_service.ingest(db, store, settings, collection, incoming, user)
    data = [
        UploadedImage.model_validate(
            {**ImagePublic.model_validate(image).model_dump(), "duplicate": duplicate}
        )
        for image, duplicate in results
    ]
    return UploadResult(data=data, count=len(data))


@router.get("/{collection_id}/images")
def list_images(
    collection_id: int,
    db: SessionDep,
    _user: ViewerUser,
    status: ImageStatus | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ImagesPublic:
    service.get_collection(db, collection_id)
    rows, total = image_service.list_images(db, collection_id, status, offset, limit)
    return ImagesPublic(data=[ImagePublic.model_validate(r) for r in rows], count=total)
