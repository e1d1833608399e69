from pydantic import BaseModel

from backend.schemas.common import Public, UtcDatetime


class AnnotationPublic(Public):
    id: int
    image_id: int
    version: int
    author: str | None
    source: str
    proposal_model_id: int | None
    seconds_spent: float | None
    labeled_pixels: int
    object_count: int
    mask_dtype: str
    object_classes: dict[str, int] | None
    created_at: UtcDatetime


class AnnotationVersions(BaseModel):
    data: list[AnnotationPublic]
    count: int
