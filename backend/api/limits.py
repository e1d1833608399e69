"""Reject request bodies over the configured size before they are parsed or spooled."""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _message(max_bytes: int) -> str:
    return (
        f"The request body is over the {max_bytes}-byte limit (MASKLOOP_MAX_UPLOAD_BYTES); "
        "send fewer or smaller files per request."
    )


class _BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI, which turns any other error raised while it reads a
    JSON or form body into a generic 400, passes it on as the 413 it is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _message(max_bytes), headers={"connection": "close"})


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length up front and counts streamed bytes for
    chunked bodies, so a client cannot fill the disk by leaving the length out."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": _message(self.max_bytes)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._reject(send)
