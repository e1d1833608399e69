from pydantic import BaseModel

from backend.schemas.common import Public, UtcDatetime


class ImagePublic(Public):
    id: int
    collection_id: int
    filename: str
    sha256: str
    format: str
    size_bytes: int
    width: int
    height: int
    channels: int
    dtype: str
    status: str
    holdout: bool = False
    created_at: UtcDatetime


class UploadedImage(ImagePublic):
    duplicate: bool = False  # the same bytes were already in the collection


class UploadResult(BaseModel):
    data: list[UploadedImage]
    count: int


class ImagesPublic(BaseModel):
    data: list[ImagePublic]
    count: int
