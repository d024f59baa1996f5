"""Find the model engines already running or installed on this machine, quickly.

Every HTTP probe has a 0.5 s budget and all of them run at once, so `gemma-chat doctor`
answers in well under a second even when nothing is listening. Each result carries the model
spec a user would pass to `--model` to use that engine.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import logging
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5

DEFAULT_ENDPOINTS: dict[str, str] = {
    "ollama": "http://127.0.0.1:11434",
    "lm-studio": "http://127.0.0.1:1234",
    "llama-server": "http://127.0.0.1:8080",
    "vllm": "http://127.0.0.1:8000",
}


@dataclass(frozen=True, slots=True)
class Engine:
    name: str  # "ollama", "lm-studio", "llama-server", "vllm", "mlx", "llama-cpp-python"
    kind: Literal["server", "in-process"]
    available: bool
    spec: str | None  # the model spec to use it, e.g. "ollama:gemma4:e4b"
    url: str | None = None
    version: str | None = None
    models: tuple[str, ...] = ()
    detail: str = ""  # what was found, or why it is not usable
    gpu_offload: bool | None = None  # llama-cpp-python: built with GPU support

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = list(self.models)
        return data


async def probe_engines(
    endpoints: Mapping[str, str] | None = None, request_timeout: float = PROBE_TIMEOUT_S
) -> list[Engine]:
    """Probe all engines concurrently; `endpoints` overrides base URLs by engine name.
    `request_timeout` bounds each HTTP request, not the whole probe."""
    urls = {**DEFAULT_ENDPOINTS, **(endpoints or {})}
    async with httpx.AsyncClient(timeout=request_timeout, trust_env=False) as client:
        results = await asyncio.gather(
            _probe_ollama(client, urls["ollama"]),
            _probe_openai(client, "lm-studio", urls["lm-studio"]),
            _probe_llama_server(client, urls["llama-server"]),
            _probe_openai(client, "vllm", urls["vllm"]),
            asyncio.to_thread(probe_mlx),
            asyncio.to_thread(probe_llama_cpp_python),
        )
    return list(results)


def probe_engines_sync(
    endpoints: Mapping[str, str] | None = None, timeout: float = PROBE_TIMEOUT_S
) -> list[Engine]:
    return asyncio.run(probe_engines(endpoints, timeout))


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    """Parsed JSON from a 200 response, else None (nothing listening, timeout, not JSON)."""
    try:
        response = await client.get(url)
        if response.status_code != 200:
            return None
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


def _openai_models(payload: Any) -> tuple[str, ...]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return ()
    return tuple(str(m["id"]) for m in payload["data"] if isinstance(m, dict) and "id" in m)


async def _probe_ollama(client: httpx.AsyncClient, base: str) -> Engine:
    base = base.rstrip("/")
    version, tags = await asyncio.gather(
        _get_json(client, f"{base}/api/version"), _get_json(client, f"{base}/api/tags")
    )
    if not isinstance(version, dict) or "version" not in version:
        return Engine("ollama", "server", False, None, base, detail=f"nothing answered at {base}")
    models: tuple[str, ...] = ()
    if isinstance(tags, dict) and isinstance(tags.get("models"), list):
        models = tuple(str(m.get("name")) for m in tags["models"] if isinstance(m, dict))
    spec = f"ollama:{models[0]}" if models else "ollama:NAME"
    detail = f"{len(models)} model(s) pulled" if models else "no models pulled yet (ollama pull)"
    return Engine("ollama", "server", True, spec, base, str(version["version"]), models, detail)


async def _probe_openai(client: httpx.AsyncClient, name: str, base: str) -> Engine:
    base = base.rstrip("/")
    payload = await _get_json(client, f"{base}/v1/models")
    if payload is None or not isinstance(payload, dict) or "data" not in payload:
        return Engine(name, "server", False, None, base, detail=f"nothing answered at {base}")
    models = _openai_models(payload)
    spec = f"openai:{base}/v1" + (f"#{models[0]}" if models else "")
    detail = f"{len(models)} model(s) served" if models else "no model loaded"
    return Engine(name, "server", True, spec, base, None, models, detail)


async def _probe_llama_server(client: httpx.AsyncClient, base: str) -> Engine:
    base = base.rstrip("/")
    health, models_payload = await asyncio.gather(
        _get_json(client, f"{base}/health"), _get_json(client, f"{base}/v1/models")
    )
    if not isinstance(health, dict) or health.get("status") != "ok":
        detail = f"nothing answered at {base}"
        if isinstance(health, dict) and "status" in health:
            detail = f"llama-server at {base} reports {health['status']!r}"
        return Engine("llama-server", "server", False, None, base, detail=detail)
    models = _openai_models(models_payload)
    spec = f"openai:{base}/v1"
    return Engine("llama-server", "server", True, spec, base, None, models, "healthy")


def probe_mlx(system: str | None = None, machine: str | None = None) -> Engine:
    """MLX runs only on Apple Silicon; say so elsewhere instead of just 'not found'."""
    system = system or platform.system()
    machine = machine or platform.machine()
    if system != "Darwin" or machine != "arm64":
        return Engine(
            "mlx",
            "in-process",
            False,
            None,
            detail=f"MLX needs an Apple Silicon Mac (this is {system} {machine})",
        )
    for package in ("mlx_vlm", "mlx_lm"):
        if importlib.util.find_spec(package) is not None:
            version = _dist_version(package.replace("_", "-"))
            return Engine(
                "mlx",
                "in-process",
                True,
                "mlx:REPO",
                version=version,
                detail=f"{package} is installed",
            )
    return Engine(
        "mlx",
        "in-process",
        False,
        None,
        detail="Apple Silicon detected; install mlx-lm or mlx-vlm to use MLX models",
    )


def probe_llama_cpp_python() -> Engine:
    version = _dist_version("llama-cpp-python")
    if version is None:
        return Engine("llama-cpp-python", "in-process", False, None, detail="not installed")
    try:
        import llama_cpp

        gpu = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as exc:  # a broken native build must not break the probe
        log.debug("llama-cpp-python failed to load", exc_info=True)
        return Engine(
            "llama-cpp-python",
            "in-process",
            False,
            None,
            version=version,
            detail=f"installed but failed to load: {exc}",
        )
    detail = "GPU offload available" if gpu else "CPU-only build (no GPU offload)"
    return Engine(
        "llama-cpp-python",
        "in-process",
        True,
        "gguf:PATH",
        version=version,
        detail=detail,
        gpu_offload=gpu,
    )


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
