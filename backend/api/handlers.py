"""Exception handlers: every error a request can cause becomes a 4xx that says what to fix."""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError

from backend.errors import DomainError
from backend.imaging import ImagingError

# The largest id, version or offset the database holds (PostgreSQL ``integer``).
MAX_INT = 2**31 - 1
_OUT_OF_RANGE = (
    f"A number in the request is out of range: ids, versions and offsets are whole numbers "
    f"from 0 to {MAX_INT}."
)


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """One sentence per invalid field, e.g. "password (body): String should have at least 8
    characters", so ``detail`` is a message like every other error's."""
    parts = []
    for error in errors:
        source, *path = error["loc"] or ["request"]
        if error["type"] == "json_invalid":
            parts.append("the body is not valid JSON; send a JSON object")
            continue
        field = ".".join(str(p) for p in path)
        where = f"{field} ({source})" if field else str(source)
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts) + "."


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(ImagingError)
    async def imaging_error(_request: Request, exc: ImagingError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        # The input is not echoed back: it may be a password, and FastAPI's own handler fails
        # on what it cannot encode (a lone surrogate "\ud800", NaN), turning a 422 into a 500.
        # ensure_ascii keeps any such text in the locations and messages encodable too.
        body = {"detail": describe_errors(errors), "errors": errors}
        return Response(
            json.dumps(jsonable_encoder(body), ensure_ascii=True),
            status_code=422,
            media_type="application/json",
        )

    # Ids past the database's integer range fail in the driver: OverflowError from SQLite
    # (beyond 64 bits), DataError from PostgreSQL (beyond 32). Either way the client sent it.
    @app.exception_handler(OverflowError)
    async def overflow(_request: Request, _exc: OverflowError) -> JSONResponse:
        return JSONResponse({"detail": _OUT_OF_RANGE}, status_code=422)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "refused"
        detail = f"A value in the request does not fit the database ({reason}). {_OUT_OF_RANGE}"
        return JSONResponse({"detail": detail}, status_code=422)
