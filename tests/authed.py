"""httpx, logged in to the test servers: each request carries the token of the server it
goes to, as a script sends the one it read from server.json.

`start_server` registers every server it starts. Tests that must go without the token (the
security suite) use plain httpx.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

_tokens: dict[str, str] = {}


def register(url: str, token: str) -> None:
    _tokens[url.rstrip("/")] = token


class _ServerToken(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = _tokens.get(f"{request.url.scheme}://{request.url.netloc.decode('ascii')}")
        if token and "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


AUTH = _ServerToken()


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, auth=AUTH, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, auth=AUTH, **kwargs)


def patch(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.patch(url, auth=AUTH, **kwargs)


def put(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.put(url, auth=AUTH, **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.delete(url, auth=AUTH, **kwargs)


def stream(method: str, url: str, **kwargs: Any) -> Any:
    return httpx.stream(method, url, auth=AUTH, **kwargs)


def Client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(auth=AUTH, **kwargs)
