"""Server-Sent Events framing."""

from __future__ import annotations

import json
from typing import Any


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode()
