"""`gemma-chat doctor`: engine probes against real local HTTP servers, the recommendation,
and the text and JSON output with injected hardware."""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rich.console import Console

from gemma_chat.cli import doctor as cli_doctor
from gemma_chat.models import doctor
from gemma_chat.models.doctor import build_report, recommend, render_report
from gemma_chat.models.engines import Engine, probe_engines, probe_engines_sync, probe_mlx
from gemma_chat.models.hardware import GPU, Hardware

GB = 10**9
GIB = 1024**3

ROUTES = {
    "/api/version": {"version": "0.12.3"},
    "/api/tags": {"models": [{"name": "gemma4:e4b"}, {"name": "gemma3n:e2b"}]},
    "/v1/models": {"object": "list", "data": [{"id": "gemma-4-e4b-it", "object": "model"}]},
    "/health": {"status": "ok"},
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ROUTES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def engine_server() -> Iterator[str]:
    """A tiny server on 127.0.0.1 that answers like Ollama, llama-server and /v1 at once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"


def _by_name(engines: list[Engine]) -> dict[str, Engine]:
    return {engine.name: engine for engine in engines}


def test_probes_find_running_engines(engine_server: str):
    engines = _by_name(
        probe_engines_sync(
            {
                "ollama": engine_server,
                "lm-studio": engine_server,
                "llama-server": engine_server,
                "vllm": engine_server,
            }
        )
    )
    ollama = engines["ollama"]
    assert ollama.available and ollama.version == "0.12.3"
    assert ollama.models == ("gemma4:e4b", "gemma3n:e2b")
    assert ollama.spec == "ollama:gemma4:e4b"
    lm_studio = engines["lm-studio"]
    assert lm_studio.available
    assert lm_studio.spec == f"openai:{engine_server}/v1#gemma-4-e4b-it"
    assert engines["llama-server"].available
    assert engines["llama-server"].spec == f"openai:{engine_server}/v1"
    assert engines["vllm"].spec == f"openai:{engine_server}/v1#gemma-4-e4b-it"
    assert set(engines) == {
        "ollama",
        "lm-studio",
        "llama-server",
        "vllm",
        "mlx",
        "llama-cpp-python",
    }


def test_probes_are_quick_when_nothing_listens():
    closed = _closed_port_url()
    started = time.perf_counter()
    engines = _by_name(
        probe_engines_sync(
            {name: closed for name in ("ollama", "lm-studio", "llama-server", "vllm")}
        )
    )
    elapsed = time.perf_counter() - started
    for name in ("ollama", "lm-studio", "llama-server", "vllm"):
        assert not engines[name].available
        assert engines[name].spec is None
        assert "nothing answered" in engines[name].detail
    assert elapsed < 3.0  # llama-cpp-python's import dominates; the HTTP probes are 0.5 s max


async def test_async_probe_with_a_wrong_server(engine_server: str):
    """A server that answers, but not like the engine we asked for, is not that engine."""
    saved = dict(ROUTES)
    ROUTES.pop("/api/version")
    ROUTES["/health"] = {"status": "loading model"}
    try:
        engines = _by_name(
            await probe_engines({"ollama": engine_server, "llama-server": engine_server})
        )
    finally:
        ROUTES.clear()
        ROUTES.update(saved)
    assert not engines["ollama"].available
    assert not engines["llama-server"].available
    assert "loading model" in engines["llama-server"].detail


def test_mlx_explains_why_not():
    linux = probe_mlx("Linux", "x86_64")
    assert (
        not linux.available and "Apple Silicon" in linux.detail and "Linux x86_64" in linux.detail
    )


def test_llama_cpp_python_is_reported():
    engine = _by_name(probe_engines_sync({"ollama": _closed_port_url()}))["llama-cpp-python"]
    assert engine.available and engine.version
    assert engine.gpu_offload in (True, False)
    assert engine.spec == "gguf:PATH"


# --- the recommendation ------------------------------------------------------------------------


def _hardware(ram_free: int = 12 * GB, gpus: tuple[GPU, ...] = ()) -> Hardware:
    unified = any(gpu.unified for gpu in gpus)
    system, machine = ("Darwin", "arm64") if unified else ("Linux", "x86_64")
    return Hardware(system, machine, 16 * GIB, ram_free, 8, 16, gpus)


def test_recommendation_for_the_16gb_laptop_fits():
    best = recommend(_hardware())
    assert best is not None and best.verdict == "fits" and best.fast_enough
    assert best.spec.startswith("gemma-4-")
    assert best.context == 32_768  # what the runtime opens a downloaded model with
    assert "tokens/s on 8 CPU cores" in best.why


def test_cpu_only_speed_counts_and_a_gpu_is_used():
    # 24 GB free on 2 CPU cores: 26B-A4B fits but would decode at ~3 tokens/s.
    slow = recommend(Hardware("Linux", "x86_64", 24 * GIB, 22 * GB, 2, 2))
    assert slow is not None and slow.spec not in ("gemma-4-26b-a4b", "gemma-4-31b")
    assert not slow.fast_enough
    gpu = GPU("RTX 4070", "nvidia", 12 * GIB, 11 * GIB)
    best = recommend(_hardware(ram_free=24 * GB, gpus=(gpu,)))
    assert best is not None and best.fast_enough and best.plan.offload in ("full", "partial")


def test_nothing_fits_on_a_tiny_machine():
    assert recommend(_hardware(ram_free=2 * GB)) is None
    out = io.StringIO()
    render_report(
        build_report(_hardware(ram_free=2 * GB), engines=[]), Console(file=out, width=200)
    )
    assert "No Gemma 4 model fits" in out.getvalue()
    assert "--model embedded" in out.getvalue()


def test_render_report_text():
    gpu = GPU("NVIDIA GeForce RTX 4070", "nvidia", 12 * GIB, 11 * GIB)
    engines = [
        Engine("ollama", "server", True, "ollama:gemma4:e4b", "http://127.0.0.1:11434", "0.12.3"),
        Engine("mlx", "in-process", False, None, detail="MLX needs an Apple Silicon Mac"),
    ]
    report = build_report(_hardware(gpus=(gpu,)), engines=engines)
    out = io.StringIO()
    render_report(report, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "NVIDIA GeForce RTX 4070" in text
    assert "ollama:gemma4:e4b" in text and "found 0.12.3" in text
    assert "MLX needs an Apple Silicon Mac" in text
    assert "Recommended:" in text and "then run gemma-chat --model gemma-4-" in text
    assert "tokens/s" in text and "Why: needs" in text and "speed (est.)" in text
    for model_id in doctor.QUALITY_ORDER:
        assert model_id in text


def test_render_report_says_when_the_best_is_slow():
    report = build_report(Hardware("Linux", "x86_64", 24 * GIB, 22 * GB, 2, 2), engines=[])
    out = io.StringIO()
    render_report(report, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "Best here:" in text and "Expect slow answers" in text and "2 CPU cores" in text
    assert "32,768-token context" in text


# --- the CLI ----------------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gemma-chat")
    commands = parser.add_subparsers(dest="command")
    cli_doctor.register(commands)
    return parser.parse_args(["doctor", *argv])


def test_cli_json_with_injected_hardware():
    args = _parse("--json")
    assert args.handler is cli_doctor.run
    out = io.StringIO()
    assert args.handler(args, hardware=_hardware(), engines=[], out=out) == 0
    data = json.loads(out.getvalue())
    assert set(data) == {"hardware", "engines", "models", "recommendation"}
    assert data["hardware"]["ram_available_bytes"] == 12 * GB
    assert data["engines"] == []
    assert [m["model"] for m in data["models"]] == list(doctor.QUALITY_ORDER)
    by_id = {m["model"]: m for m in data["models"]}
    assert by_id["gemma-4-e4b"]["verdict"] == "fits"
    assert by_id["gemma-4-31b"]["verdict"] == "wont_fit"
    assert all(m["context"] == 32_768 and m["tokens_per_s"] > 0 for m in data["models"])
    rec = data["recommendation"]
    assert rec["verdict"] == "fits" and rec["plan"]["message"].startswith("Fits: needs")
    assert rec["spec"] == "gemma-4-e4b" and rec["context"] == 32_768 and rec["fast_enough"]
    assert rec["tokens_per_s"] >= 8 and "tokens/s" in rec["why"]


def test_cli_text_without_engine_probes():
    args = _parse("--no-engines")
    out = io.StringIO()
    assert cli_doctor.run(args, hardware=_hardware(), out=out) == 0
    text = out.getvalue()
    assert "Hardware" in text and "Engines" not in text and "Recommended" in text
