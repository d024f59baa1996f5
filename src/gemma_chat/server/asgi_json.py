"""A JSON error answered straight from ASGI middleware, before any route (or body) runs."""

from __future__ import annotations

import json

from starlette.types import Send


async def send_error(send: Send, status: int, detail: str, close: bool = False) -> None:
    """The app's error shape, `{"detail": …}`; `close` ends the connection afterwards, so
    the rest of a refused body is never read."""
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
