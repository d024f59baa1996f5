"""`mlx:REPO`: the off-Apple refusal, venv provisioning, and the managed server's life
(start → healthy → stream → crash → restart → close) with stand-in servers on Linux."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gemma_chat.errors import ModelLoadError, RuntimeFailure, UnknownModelSpec
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.runtimes import mlx as mlx_module
from gemma_chat.runtimes.base import (
    ChatMessage,
    Finish,
    GenerationOptions,
    TextDelta,
    ThinkingDelta,
)
from gemma_chat.runtimes.mlx import (
    MLX_LM,
    MLX_VLM,
    MlxRuntime,
    is_apple_silicon,
    parse_spec,
    provision_venv,
    server_command,
    venv_commands,
)
from gemma_chat.runtimes.openai_compat import reply_room
from tests.runtimes.fixtures.helpers import (
    HELLO,
    collect,
    llama_cpp_server_command,
    load_error,
    texts,
)

FAKE_SERVER = Path(__file__).parent / "fixtures" / "fake_mlx_server.py"
REPO = "mlx-community/Qwen3-0.6B-4bit"


class FakeEngine:
    """Injected provisioning and server command: no install, the stand-in server script."""

    def __init__(self, tmp_path: Path, *flags: str) -> None:
        self.requests = tmp_path / "requests.jsonl"
        self.flags = flags
        self.provisioned: list[tuple[Path, str]] = []
        self.commands: list[tuple[str, int, bool]] = []

    async def provision(self, venv_dir: Path, package: str) -> Path:
        self.provisioned.append((venv_dir, package))
        return Path(sys.executable)

    def command(self, python: Path, repo: str, port: int, vlm: bool) -> list[str]:
        self.commands.append((repo, port, vlm))
        real_flags = server_command(python, repo, port, vlm)[1:]  # --model --host --port
        our_flags = ["--requests", str(self.requests), *self.flags]
        return [str(python), str(FAKE_SERVER), *real_flags, *our_flags]

    def logged(self) -> list[dict]:
        lines = self.requests.read_text().splitlines() if self.requests.exists() else []
        return [json.loads(line) for line in lines]

    def runtime(self, tmp_path: Path, spec: str = f"mlx:{REPO}", **kwargs: object) -> MlxRuntime:
        return MlxRuntime(
            spec,
            tmp_path / "data",
            platform_check=lambda: True,
            provision=self.provision,
            command=self.command,
            **kwargs,  # type: ignore[arg-type]
        )


# -- spec, platform, provisioning ---------------------------------------------------------------


def test_spec_grammar() -> None:
    assert parse_spec(f"mlx:{REPO}") == (REPO, None)
    assert parse_spec("mlx:/Users/me/models/gemma?vlm=1") == ("/Users/me/models/gemma", True)
    assert parse_spec(f"mlx:{REPO}?vlm=0") == (REPO, False)
    for bad in ("mlx:", "mlx:?vlm=1", f"mlx:{REPO}?vlm=maybe", f"mlx:{REPO}?gpu=1"):
        with pytest.raises(UnknownModelSpec):
            parse_spec(bad)


@pytest.mark.skipif(is_apple_silicon(), reason="the refusal is for other machines")
async def test_off_apple_refusal_installs_nothing(tmp_path: Path) -> None:
    message = await load_error(MlxRuntime(f"mlx:{REPO}", tmp_path / "data"))
    assert message.startswith("MLX runs only on Apple Silicon Macs")
    assert "gemma-4-e4b (llama.cpp)" in message and "openai:URL" in message
    assert not (tmp_path / "data" / "engines").exists()


async def test_injected_platform_check(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path)
    runtime = MlxRuntime(
        f"mlx:{REPO}", tmp_path, platform_check=lambda: False, provision=fake.provision
    )
    with pytest.raises(ModelLoadError, match="only on Apple Silicon"):
        await runtime.load()
    assert fake.provisioned == []


def test_venv_commands(tmp_path: Path) -> None:
    venv = tmp_path / "engines" / "mlx"
    python = str(venv / "bin" / "python")
    assert venv_commands(venv, MLX_LM, "/usr/bin/uv") == [
        ["/usr/bin/uv", "venv", "--quiet", "--python", sys.executable, str(venv)],
        ["/usr/bin/uv", "pip", "install", "--quiet", "--python", python, "mlx-lm"],
    ]
    assert venv_commands(venv, MLX_VLM, None) == [
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "--quiet", "mlx-vlm"],
    ]
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()  # the venv exists: only the install is left
    assert venv_commands(venv, MLX_VLM, "uv") == [
        ["uv", "pip", "install", "--quiet", "--python", python, "mlx-vlm"]
    ]
    argv = server_command(venv / "bin" / "python", REPO, 5123, vlm=False)
    assert argv == [
        str(venv / "bin" / "mlx_lm.server"),
        "--model",
        REPO,
        "--host",
        "127.0.0.1",
        "--port",
        "5123",
    ]
    assert server_command(venv / "bin" / "python", REPO, 1, vlm=True)[0].endswith("mlx_vlm.server")


async def test_provision_runs_once_and_reports_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "engines" / "mlx"
    ran: list[list[str]] = []

    def commands(venv_dir: Path, package: str, uv: str | None) -> list[list[str]]:
        script = "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
        script += "p.parent.mkdir(parents=True, exist_ok=True); p.touch()"
        command = [sys.executable, "-c", script, str(venv / "bin" / "python")]
        ran.append(command)
        return [command]

    monkeypatch.setattr(mlx_module, "venv_commands", commands)
    python = await provision_venv(venv, MLX_LM)
    assert python == venv / "bin" / "python" and python.exists()
    assert await provision_venv(venv, MLX_LM) == python
    assert len(ran) == 1  # the marker file makes the second call a no-op

    def failing(venv_dir: Path, package: str, uv: str | None) -> list[list[str]]:
        return [[sys.executable, "-c", "import sys; sys.stderr.write('no matching dist'); 1/0"]]

    monkeypatch.setattr(mlx_module, "venv_commands", failing)
    with pytest.raises(ModelLoadError, match=r"Installing mlx-vlm into .* failed .*no matching"):
        await provision_venv(venv, MLX_VLM)


def test_package_choice(tmp_path: Path) -> None:
    assert MlxRuntime(f"mlx:{REPO}", tmp_path).package == MLX_LM
    vision = MlxRuntime(f"mlx:{REPO}", tmp_path, modalities=("text", "image", "audio"))
    assert vision.package == MLX_VLM and vision.server.name == "mlx_vlm.server"
    assert vision.capabilities.modalities == ("text", "image", "audio")
    forced = MlxRuntime(f"mlx:{REPO}?vlm=0", tmp_path, modalities=("text", "image"))
    assert forced.package == MLX_LM
    flagged = MlxRuntime(f"mlx:{REPO}?vlm=1", tmp_path)
    assert flagged.package == MLX_VLM and flagged.capabilities.modalities == ("text", "image")


# -- the managed server ---------------------------------------------------------------------


async def test_start_stream_crash_restart_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMMA_CHAT_OPENAI_API_KEY", "not-for-local-servers")
    fake = FakeEngine(tmp_path)
    runtime = fake.runtime(tmp_path, context_length=32768)
    try:
        deltas = await collect(runtime, GenerationOptions(top_k=20, thinking=True))
        assert fake.provisioned == [(tmp_path / "data" / "engines" / "mlx", MLX_LM)]
        assert runtime.loaded and runtime.memory_bytes > 0
        assert runtime.server.starts == 1 and runtime.server.port != 11434
        assert texts(deltas, ThinkingDelta).strip() == "The user said hi."
        assert texts(deltas, TextDelta).strip() == "Hi!"
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "stop"
        assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (12, 11)
        assert runtime.capabilities.context_length == 32768
        (first,) = fake.logged()
        body = first["body"]
        assert body["model"] == REPO and body["stream"] is True
        # Filled in (the servers default to ~512): the room the prompt leaves in the context.
        assert body["max_tokens"] == reply_room(32768, HELLO)
        assert 32768 - 64 < body["max_tokens"] < 32768
        assert runtime.name.startswith(f"{REPO} (MLX, mlx_lm.server at ")
        assert body["top_k"] == 20 and body["chat_template_kwargs"] == {"enable_thinking": True}
        assert "cache_prompt" not in body and "grammar" not in body
        assert "Authorization" not in first["headers"]

        old = runtime.server.process
        assert old is not None
        old.kill()  # the server crashes between requests
        old.wait()
        assert not runtime.loaded
        again = await collect(runtime)
        assert texts(again, TextDelta).strip() == "Hi!"
        assert runtime.server.starts == 2 and runtime.server.process is not old
        pids = [entry["pid"] for entry in fake.logged()]
        assert len(set(pids)) == 2
    finally:
        process = runtime.server.process
        await runtime.close()
    assert process is not None and process.poll() is not None  # close() stopped it
    assert not runtime.loaded and runtime.memory_bytes == 0


async def test_crash_mid_reply_then_restart(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path)
    runtime = fake.runtime(tmp_path)
    try:
        with pytest.raises(RuntimeFailure, match=r"mlx_lm.server stopped during the reply"):
            await collect(runtime, messages=[ChatMessage("user", "crash")])
        deltas = await collect(runtime)
        assert isinstance(deltas[-1], Finish) and runtime.server.starts == 2
    finally:
        await runtime.close()


async def test_server_that_fails_to_start(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path, "--fail-start")
    message = await load_error(fake.runtime(tmp_path))
    assert "mlx_lm.server exited (code 3) before it was ready" in message
    assert "is not a valid MLX model folder" in message  # the tail of its output


async def test_server_that_never_answers(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path, "--never-ready")
    runtime = fake.runtime(tmp_path, startup_timeout_s=1.0)
    with pytest.raises(ModelLoadError, match=r"did not answer at .*/v1/models within 1 s"):
        await runtime.load()
    assert runtime.server.process is None  # it was stopped, not left running
    await runtime.close()


@pytest.mark.slow
async def test_a_real_openai_server_under_management(tmp_path: Path) -> None:
    """llama_cpp.server (from the dev deps) stands in for mlx_lm.server: a real engine."""
    model = str(embedded_model_path())

    def command(python: Path, repo: str, port: int, vlm: bool) -> list[str]:
        return llama_cpp_server_command(model, port, n_ctx=1024, python=str(python))

    fake = FakeEngine(tmp_path)
    runtime = MlxRuntime(
        f"mlx:{model}",
        tmp_path / "data",
        context_length=1024,
        platform_check=lambda: True,
        provision=fake.provision,
        command=command,
    )
    try:
        deltas = await collect(runtime, GenerationOptions(max_tokens=8, temperature=0.0))
        assert texts(deltas, TextDelta).strip()
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason in ("stop", "length")
        assert finish.usage.completion_tokens > 0
    finally:
        await runtime.close()
