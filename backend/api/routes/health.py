from fastapi import APIRouter

from backend.schemas.common import Message

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Message:
    return Message(status="ok")
