"""/api/health and /api/models give one answer to "is this model loaded?" for every kind
of runtime (Runtime.loaded): before the model could load, and after it has."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import authed
from tests.runtimes.fixtures.loopback import Loopback, ollama_routes, openai_routes


def _health(base: str) -> dict[str, Any]:
    response = authed.get(f"{base}/api/health", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["model"]


def _listed(base: str, spec: str) -> dict[str, Any]:
    response = authed.get(f"{base}/api/models", timeout=30)
    assert response.status_code == 200, response.text
    return next(m for m in response.json()["models"] if m["spec"] == spec)


def _after_preload(base: str) -> dict[str, Any]:
    """Health once the start-up load has tried (and, here, failed)."""
    deadline = time.monotonic() + 30
    while (model := _health(base))["error"] is None:
        assert time.monotonic() < deadline, model
        time.sleep(0.1)
    return model


def _assert_agree(base: str, spec: str, loaded: bool) -> None:
    health = _health(base)
    listed = _listed(base, spec)
    assert health["spec"] == spec
    assert health["loaded"] is listed["loaded"] is loaded, (health, listed)


@pytest.mark.parametrize("kind", ["openai", "ollama", "replay"])
def test_health_and_models_agree_before_and_after_the_load(
    kind: str, start_server, loopback: Callable[..., Loopback], tmp_path: Path
) -> None:
    fake: Loopback | None = None
    script = tmp_path / "script.txt"
    if kind == "replay":
        spec = f"replay:{script}?tps=0"  # not written yet: reading it fails
    else:
        fake = loopback({})  # answers 404 to everything: not the engine yet
        spec = f"openai:{fake.url}/v1" if kind == "openai" else f"ollama:{fake.url}#qwen3:8b"
    base = start_server(spec).url
    model = _after_preload(base)
    assert model["loaded"] is False
    _assert_agree(base, spec, loaded=False)

    if fake is not None:
        routes = openai_routes("vllm_models.json") if kind == "openai" else ollama_routes()
        fake.routes.update(routes)
    else:
        script.write_text("hello", encoding="utf-8")
    response = authed.post(f"{base}/api/models/load", json={"model": spec}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["loaded"] is True
    _assert_agree(base, spec, loaded=True)
