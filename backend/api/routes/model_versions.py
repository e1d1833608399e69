from typing import Annotated

from fastapi import APIRouter, Body, Response

from backend.api.deps import AdminUser, SessionDep, StorageDep, ViewerUser
from backend.api.headers import attachment
from backend.orm import Collection
from backend.schemas.loop import ActivateRequest, ModelPublic, ModelsPublic
from backend.services import collections as collection_service
from backend.services import model_versions as service

router = APIRouter(tags=["models"])


@router.get("/collections/{collection_id}/models")
def list_models(collection_id: int, db: SessionDep, _user: ViewerUser) -> ModelsPublic:
    collection_service.get_collection(db, collection_id)
    rows = service.list_models(db, collection_id)
    return ModelsPublic(data=[ModelPublic.model_validate(m) for m in rows], count=len(rows))


@router.get("/models/{model_id}")
def get_model(model_id: int, db: SessionDep, _user: ViewerUser) -> ModelPublic:
    return ModelPublic.model_validate(service.get_model(db, model_id))


@router.get("/models/{model_id}/checkpoint")
def get_checkpoint(model_id: int, db: SessionDep, store: StorageDep, _user: ViewerUser) -> Response:
    model = service.get_model(db, model_id)
    collection = db.get(Collection, model.collection_id)
    stem = collection.name.replace("/", "_") if collection else "model"
    name = f"{stem}-v{model.version}.pt"
    headers = {"Content-Disposition": attachment(name)}
    if model.ensemble_with_ids:
        # The file holds this version's own network; its predictions average it with these
        # versions' networks, each downloadable here under its own id.
        headers["X-Ensemble-With"] = ",".join(str(i) for i in model.ensemble_with_ids)
    return Response(
        store.get(model.checkpoint_key), media_type="application/octet-stream", headers=headers
    )


@router.post("/models/{model_id}/activate")
def activate(
    model_id: int,
    db: SessionDep,
    user: AdminUser,
    body: Annotated[ActivateRequest | None, Body()] = None,
) -> ModelPublic:
    model = service.get_model(db, model_id)
    guard = body.collection_id if body else None
    return ModelPublic.model_validate(service.activate(db, model, user, guard))
