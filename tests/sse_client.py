"""A small SSE reader for tests: the API's turn stream as (event, data) pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from httpx_sse import EventSource

from tests import authed


def iter_sse(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, JSON data) for each event with data (httpx-sse parses the stream; it also
    checks that the response is text/event-stream)."""
    for sse in EventSource(response).iter_sse():
        if sse.data:
            yield sse.event, sse.json()


def send(
    base_url: str,
    conversation_id: str,
    content: str,
    timeout: float = 120,
    attachments: list[str] | None = None,
    kit: str | None = None,
):
    """Post a message and collect every event of the turn."""
    body: dict = {"content": content}
    if attachments:
        body["attachments"] = attachments
    if kit:
        body["kit"] = kit
    with (
        authed.Client(base_url=base_url, timeout=timeout) as client,
        client.stream(
            "POST", f"/api/conversations/{conversation_id}/messages", json=body
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(iter_sse(response))
