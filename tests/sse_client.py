"""A small SSE reader for tests: the API's turn stream as (event, data) pairs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests import authed


def iter_sse(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    name, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


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
