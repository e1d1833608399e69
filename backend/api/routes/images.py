from fastapi import APIRouter, Response

from backend.api.deps import AdminUser, SessionDep, StorageDep, ViewerUser
from backend.schemas.common import Message
from backend.schemas.images import ImagePublic
from backend.services import images as service

router = APIRouter(prefix="/images", tags=["images"])

_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}
# Blobs are content-addressed, so a URL's bytes change only when the row changes.
_CACHE = "private, max-age=3600"


def blob_response(data: bytes, media_type: str, etag: str, **headers: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"ETag": f'"{etag}"', "Cache-Control": _CACHE, **headers},
    )


@router.get("/{image_id}")
def get_image(image_id: int, db: SessionDep, _user: ViewerUser) -> ImagePublic:
    return ImagePublic.model_validate(service.get_image(db, image_id))


@router.get("/{image_id}/file")
def get_file(image_id: int, db: SessionDep, store: StorageDep, _user: ViewerUser) -> Response:
    image = service.get_image(db, image_id)
    name = image.filename.rsplit("/", 1)[-1].replace('"', "")
    return blob_response(
        store.get(image.sha256),
        _MEDIA_TYPES.get(image.format, "application/octet-stream"),
        image.sha256,
        **{"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{image_id}/render")
def get_render(image_id: int, db: SessionDep, store: StorageDep, _user: ViewerUser) -> Response:
    image = service.get_image(db, image_id)
    return blob_response(store.get(image.display_key), "image/png", image.display_key)


@router.get("/{image_id}/thumbnail")
def get_thumbnail(image_id: int, db: SessionDep, store: StorageDep, _user: ViewerUser) -> Response:
    image = service.get_image(db, image_id)
    return blob_response(store.get(image.thumbnail_key), "image/png", image.thumbnail_key)


@router.delete("/{image_id}")
def delete_image(image_id: int, db: SessionDep, store: StorageDep, _admin: AdminUser) -> Message:
    service.delete_image(db, store, service.get_image(db, image_id))
    return Message(status="deleted")
