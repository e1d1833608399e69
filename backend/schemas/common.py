from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

from backend.orm._types import as_utc

UtcDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(lambda v: v.isoformat().replace("+00:00", "Z"), return_type=str),
]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Message(BaseModel):
    status: str
