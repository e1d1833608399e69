from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

from backend.orm._types import as_utc

UtcDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(lambda v: v.isoformat().replace("+00:00", "Z"), return_type=str),
]


def _no_control_characters(value: str) -> str:
    if not all(c.isprintable() for c in value):
        # PostgreSQL text cannot hold NUL at all, and the rest break listings and headers.
        raise ValueError("must not contain control characters (NUL, tab, line breaks...)")
    return value


# A name a person typed: shown in lists, written into download headers, stored in any database.
Name = Annotated[str, AfterValidator(_no_control_characters)]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Message(BaseModel):
    status: str
