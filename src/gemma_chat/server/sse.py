"""Server-Sent Events framing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

from gemma_chat.events import TurnEvent

log = logging.getLogger(__name__)


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode()


Event = tuple[str, dict[str, Any]]


def event_stream(events: AsyncIterable[Event]) -> StreamingResponse:
    """An SSE response of (name, data) events, unbuffered by proxies. If the client goes
    away the generator is cancelled; whatever produces the events is not. A failure once
    the stream has begun (its 200 is sent) ends it with an `error` event, never a cut."""

    async def one_by_one() -> AsyncIterator[Sequence[Event]]:
        async for event in events:
            yield (event,)

    return batch_stream(one_by_one())


def batch_stream(batches: AsyncIterable[Sequence[Event]]) -> StreamingResponse:
    """`event_stream` for events that come in lists: each list is one write to the socket."""

    async def body() -> AsyncIterator[bytes]:
        try:
            async for batch in batches:
                yield b"".join(sse_event(name, data) for name, data in batch)
        except Exception as exc:
            log.exception("event stream failed")
            yield sse_event(TurnEvent.ERROR, {"message": f"The server failed mid-stream: {exc}"})

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
