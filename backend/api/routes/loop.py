from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import AdminUser, AnnotatorUser, SessionDep, SettingsDep, ViewerUser
from backend.loop.selection import Strategy
from backend.schemas.images import ImagePublic
from backend.schemas.loop import LoopSettings, LoopSettingsUpdate, NextImage, StatsPublic
from backend.services import collections as collection_service
from backend.services import loop as service

router = APIRouter(prefix="/collections/{collection_id}", tags=["loop"])


@router.get("/next")
def next_image(
    collection_id: int,
    db: SessionDep,
    settings: SettingsDep,
    user: AnnotatorUser,
    strategy: Annotated[
        Strategy | None, Query(description="default: uncertainty once a model exists")
    ] = None,
) -> NextImage:
    collection = collection_service.get_collection(db, collection_id)
    served = service.next_image(db, collection, user, strategy, settings.lease_minutes)
    return NextImage.model_validate(
        {
            **ImagePublic.model_validate(served.image).model_dump(),
            "strategy": served.strategy.value,
            "uncertainty": served.uncertainty,
            "model_id": served.model_id,
            "lease_expires_at": served.lease_expires_at,
            "validation": served.validation,
        }
    )


def _settings(collection) -> LoopSettings:  # type: ignore[no-untyped-def]
    return LoopSettings(
        auto_pretrain_min_images=collection.auto_pretrain_min_images,
        retrain_every=collection.retrain_every,
    )


@router.get("/settings")
def get_settings(collection_id: int, db: SessionDep, _user: AdminUser) -> LoopSettings:
    return _settings(collection_service.get_collection(db, collection_id))


@router.patch("/settings")
def patch_settings(
    collection_id: int, body: LoopSettingsUpdate, db: SessionDep, _user: AdminUser
) -> LoopSettings:
    collection = collection_service.get_collection(db, collection_id)
    return _settings(service.update_settings(db, collection, body))


@router.get("/stats")
def stats(collection_id: int, db: SessionDep, _user: ViewerUser) -> StatsPublic:
    return service.stats(db, collection_service.get_collection(db, collection_id))
