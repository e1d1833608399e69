from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from backend.api.deps import AnnotatorUser, SessionDep, SettingsDep, StorageDep, ViewerUser
from backend.api.routes.images import blob_response
from backend.errors import PayloadTooLarge
from backend.orm import Annotation, Collection
from backend.schemas.annotations import AnnotationPublic, AnnotationVersions
from backend.services import annotations as service
from backend.services.images import get_image

router = APIRouter(prefix="/images/{image_id}/annotation", tags=["annotations"])


def _public(annotation: Annotation, author: str | None) -> AnnotationPublic:
    return AnnotationPublic.model_validate({**annotation.__dict__, "author": author})


@router.put("")
def save_annotation(
    image_id: int,
    mask: Annotated[UploadFile, File(description="PNG or TIFF label image of the image's size")],
    db: SessionDep,
    store: StorageDep,
    settings: SettingsDep,
    user: AnnotatorUser,
    proposal_model_id: Annotated[int | None, Form()] = None,
    seconds_spent: Annotated[float | None, Form()] = None,
    object_classes: Annotated[str | None, Form(description='instance: {"id": class}')] = None,
    base_version: Annotated[
        int | None,
        Form(
            description="The version you edited from (0: none existed). When a newer one was "
            "saved since, the answer is 409 and nothing is saved; leave it out to always save."
        ),
    ] = None,
) -> AnnotationPublic:
    image = get_image(db, image_id)
    collection = db.get(Collection, image.collection_id)
    assert collection is not None  # guaranteed by the foreign key
    data = mask.file.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise PayloadTooLarge(f"The mask is over the {settings.max_file_bytes}-byte limit.")
    annotation = service.save_annotation(
        db,
        store,
        image,
        collection,
        data,
        user,
        proposal_model_id,
        seconds_spent,
        object_classes,
        base_version,
    )
    return _public(annotation, user.username)


@router.get("")
def get_annotation(
    image_id: int,
    db: SessionDep,
    store: StorageDep,
    _user: ViewerUser,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    annotation = service.get_annotation(db, get_image(db, image_id), version)
    return blob_response(
        store.get(annotation.mask_key),
        "image/png",
        annotation.mask_key,
        **{"X-Annotation-Version": str(annotation.version)},
    )


@router.get("/versions")
def list_versions(image_id: int, db: SessionDep, _user: ViewerUser) -> AnnotationVersions:
    rows = service.list_versions(db, get_image(db, image_id))
    return AnnotationVersions(data=[_public(a, name) for a, name in rows], count=len(rows))
