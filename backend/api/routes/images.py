from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response

from backend.api.deps import AdminUser, SessionDep, StorageDep, ViewerUser
from backend.api.headers import attachment
from backend.loop.data import mask_array
from backend.loop.proposals import objects_json, proposal_labels
from backend.orm import Collection
from backend.schemas.common import Message
from backend.schemas.images import ImagePublic
from backend.schemas.loop import ImageUpdate, PredictionPublic
from backend.services import images as service
from backend.services import predictions

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
    return blob_response(
        store.get(image.sha256),
        _MEDIA_TYPES.get(image.format, "application/octet-stream"),
        image.sha256,
        **{"Content-Disposition": attachment(image.filename)},
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


@router.patch("/{image_id}")
def update_image(
    image_id: int, body: ImageUpdate, db: SessionDep, _admin: AdminUser
) -> ImagePublic:
    """Mark an image as held out: never trained on, never in the pretraining pool."""
    image = service.get_image(db, image_id)
    image.holdout = body.holdout
    db.commit()
    return ImagePublic.model_validate(image)


@router.get("/{image_id}/prediction", response_model=None)
def get_prediction(
    image_id: int,
    db: SessionDep,
    store: StorageDep,
    _user: ViewerUser,
    model: Annotated[int | None, Query(description="a version id; default: the active one")] = None,
    format: Annotated[Literal["png", "json"], Query()] = "png",
) -> Response | PredictionPublic:
    image = service.get_image(db, image_id)
    version, row, hit = predictions.prediction_for(db, store, image, model)
    headers = {"X-Model-Id": str(version.id), "X-Cache": "hit" if hit else "miss"}
    if format == "png":
        return blob_response(store.get(row.labels_key), "image/png", row.labels_key, **headers)
    labels = proposal_labels(store, row)
    confidence = mask_array(store, row.confidence_key).astype(np.float32) / 255.0
    collection = db.get(Collection, image.collection_id)
    kind = collection.kind if collection else "instance"
    body = PredictionPublic(
        image_id=image.id,
        model_id=version.id,
        model_version=version.version,
        kind=kind,
        width=image.width,
        height=image.height,
        uncertainty=row.uncertainty,
        objects=objects_json(labels, confidence, kind),
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)


@router.get("/{image_id}/confidence")
def get_confidence(
    image_id: int,
    db: SessionDep,
    store: StorageDep,
    _user: ViewerUser,
    model: Annotated[int | None, Query()] = None,
) -> Response:
    image = service.get_image(db, image_id)
    version, row, _hit = predictions.prediction_for(db, store, image, model)
    return blob_response(
        store.get(row.confidence_key),
        "image/png",
        row.confidence_key,
        **{"X-Model-Id": str(version.id)},
    )
