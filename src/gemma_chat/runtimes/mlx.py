"""`mlx:REPO[?vlm=1]`: MLX models on Apple Silicon, through an engine server we manage.

Spec grammar:

    mlx:REPO          a Hugging Face repo id or a local folder,
                      e.g. mlx:mlx-community/gemma-3-4b-it-4bit
    mlx:REPO?vlm=1    serve it with mlx-vlm (images, audio); `?vlm=0` forces mlx-lm

Without the flag mlx-vlm is chosen when the catalogue says the model takes more than text.

Why a server in a venv of its own rather than MLX in this process: MLX wheels exist only for
macOS on arm64, and mlx-lm / mlx-vlm move fast; keeping them under
`DATA_DIR/engines/mlx` leaves gemma-chat installable everywhere and lets the engine be
upgraded alone. We start its OpenAI-compatible server on a free loopback port, stream
through `OpenAICompatRuntime`, restart the server when a request finds it dead, and stop it
in close().

The platform check, the venv provisioning and the server command are parameters, so the
process logic is tested on any machine with a stand-in server.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl

import psutil

from gemma_chat.errors import ModelLoadError, RuntimeFailure, UnknownModelSpec
from gemma_chat.runtimes.base import (
    CancelToken,
    Capabilities,
    ChatMessage,
    Delta,
    GenerationOptions,
    RuntimeBase,
)
from gemma_chat.runtimes.mlx_server import ManagedServer
from gemma_chat.runtimes.openai_compat import (
    DEFAULT_CONTEXT,
    Engine,
    OpenAICompatRuntime,
    reply_room,
)

log = logging.getLogger(__name__)

MLX_LM = "mlx-lm"
MLX_VLM = "mlx-vlm"
# What each server's request model accepts beyond the standard OpenAI fields.
MLX_LM_ENGINE = Engine("mlx_lm.server", frozenset({"top_k", "chat_template_kwargs"}))
MLX_VLM_ENGINE = Engine("mlx_vlm.server", frozenset({"top_k"}))
INSTALL_TIMEOUT_S = 1800.0
# The first start may download the whole model before the server answers.
STARTUP_TIMEOUT_S = 1800.0
OFF_APPLE = (
    "MLX runs only on Apple Silicon Macs (macOS on arm64); this machine is {system} on "
    "{machine}. Here use gemma-4-e4b (llama.cpp) or another catalogue model, or "
    "openai:URL#MODEL for a server running elsewhere."
)

PlatformCheck = Callable[[], bool]
Provision = Callable[[Path, str], Awaitable[Path]]  # (venv dir, package) -> its python
ServerCommand = Callable[[Path, str, int, bool], list[str]]  # (python, repo, port, vlm)


def is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def parse_spec(spec: str) -> tuple[str, bool | None]:
    """`mlx:REPO[?vlm=0|1]` → (repo, vlm flag or None)."""
    body = spec.strip().removeprefix("mlx:")
    repo, _, query = body.partition("?")
    repo = repo.strip()
    if not repo:
        raise UnknownModelSpec(
            "mlx: needs a model repository, e.g. mlx:mlx-community/gemma-3-4b-it-4bit"
        )
    vlm: bool | None = None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "vlm" or value.lower() not in ("0", "1", "true", "false", ""):
            raise UnknownModelSpec(f"Unknown mlx: option {key}={value!r}; use ?vlm=1 or ?vlm=0.")
        vlm = value.lower() in ("1", "true", "")
    return repo, vlm


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def venv_commands(venv_dir: Path, package: str, uv: str | None) -> list[list[str]]:
    """The commands that create the venv (unless it exists) and install `package` into it."""
    python = venv_python(venv_dir)
    commands: list[list[str]] = []
    if uv:
        if not python.exists():
            commands.append([uv, "venv", "--quiet", "--python", sys.executable, str(venv_dir)])
        commands.append([uv, "pip", "install", "--quiet", "--python", str(python), package])
    else:
        if not python.exists():
            commands.append([sys.executable, "-m", "venv", str(venv_dir)])
        commands.append([str(python), "-m", "pip", "install", "--quiet", package])
    return commands


async def provision_venv(venv_dir: Path, package: str) -> Path:
    """Install `package` into the managed venv once (uv when on PATH, else venv + pip)."""
    python = venv_python(venv_dir)
    marker = venv_dir / f".installed-{package}"
    if python.exists() and marker.exists():
        return python
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    for command in venv_commands(venv_dir, package, shutil.which("uv")):
        log.info("installing the MLX engine: %s", " ".join(command))
        try:
            done = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelLoadError(f"Could not install {package} into {venv_dir}: {exc}") from exc
        if done.returncode != 0:
            output = (done.stderr or done.stdout or "").strip()[-2000:]
            raise ModelLoadError(
                f"Installing {package} into {venv_dir} failed (`{' '.join(command)}` exited "
                f"with {done.returncode}):\n{output}"
            )
    marker.write_text(package + "\n", encoding="utf-8")
    return python


def server_command(python: Path, repo: str, port: int, vlm: bool) -> list[str]:
    """The engine's console script from the venv (`python -m mlx_lm.server` is deprecated)."""
    script = "mlx_vlm.server" if vlm else "mlx_lm.server"
    suffix = ".exe" if sys.platform == "win32" else ""
    return [
        str(python.parent / f"{script}{suffix}"),
        "--model",
        repo,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


class MlxRuntime(RuntimeBase):
    resident = True  # the model fills this Mac's unified memory (see runtimes/pool.py)

    def __init__(
        self,
        spec: str,
        data_dir: Path,
        *,
        modalities: tuple[str, ...] | None = None,
        context_length: int | None = None,
        platform_check: PlatformCheck = is_apple_silicon,
        provision: Provision = provision_venv,
        command: ServerCommand = server_command,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.spec = spec
        self.repo, flag = parse_spec(spec)
        wants_more = bool(modalities) and any(m != "text" for m in modalities or ())
        self.vlm = flag if flag is not None else wants_more
        self.package = MLX_VLM if self.vlm else MLX_LM
        self.venv_dir = data_dir / "engines" / "mlx"
        self.name = f"{self.repo} (MLX)"
        self._modalities = modalities or (("text", "image") if self.vlm else ("text",))
        self._context_length = context_length
        self._platform_check = platform_check
        self._provision = provision
        self._command = command
        self._python: Path | None = None
        self._inner: OpenAICompatRuntime | None = None
        self._lock = asyncio.Lock()
        self.server = ManagedServer(
            "mlx_vlm.server" if self.vlm else "mlx_lm.server",
            self._argv,
            self.venv_dir / "server.log",
            startup_timeout_s=startup_timeout_s,
        )

    def _argv(self, port: int) -> list[str]:
        assert self._python is not None
        return self._command(self._python, self.repo, port, self.vlm)

    @property
    def capabilities(self) -> Capabilities:
        served = self._inner.capabilities.context_length if self._inner else DEFAULT_CONTEXT
        return Capabilities(
            context_length=self._context_length or served, modalities=self._modalities
        )

    @property
    def loaded(self) -> bool:
        return self._inner is not None and self.server.running

    @property
    def memory_bytes(self) -> int:
        """What the server process holds now (its resident set), 0 when not running."""
        process = self.server.process
        if process is None or not self.server.running:
            return 0
        try:
            return int(psutil.Process(process.pid).memory_info().rss)
        except psutil.Error:
            return 0

    async def load(self) -> None:
        """Install the engine once, then start its server (again, if it died)."""
        async with self._lock:
            if self.loaded:
                return
            if not self._platform_check():
                raise ModelLoadError(
                    OFF_APPLE.format(system=platform.system(), machine=platform.machine())
                )
            if self._inner is not None:  # it was up: the server died since the last request
                log.warning(
                    "%s exited (code %s); restarting it. Its last output:\n%s",
                    self.server.name,
                    self.server.exit_code,
                    self.server.tail(),
                )
                await self._drop_inner()
            if self._python is None:
                self._python = await self._provision(self.venv_dir, self.package)
            url = await self.server.start()
            # The server serves exactly our one model, though mlx_lm.server's /v1/models may
            # not list it; neither server says what it is, so we name the engine. And never
            # send the user's OpenAI key to it.
            inner = OpenAICompatRuntime(
                f"openai:{url}/v1#{self.repo}",
                api_key="",
                engine=MLX_VLM_ENGINE if self.vlm else MLX_LM_ENGINE,
                trust_model=True,
            )
            try:
                await inner.load()
            except BaseException:
                await inner.close()
                await self.server.stop()
                raise
            self._inner = inner
            self.name = f"{self.repo} (MLX, {self.server.name} at {url})"

    async def stream(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        await self.load()
        inner = self._inner
        assert inner is not None
        if options.max_tokens is None:  # both servers default to a few hundred tokens
            room = reply_room(self.capabilities.context_length, messages)
            options = replace(options, max_tokens=room)
        try:
            async for delta in inner.stream(messages, options, cancel):
                yield delta
        except RuntimeFailure as exc:
            if await self.server.stopped_within(0.5):
                raise RuntimeFailure(
                    f"{self.server.name} stopped during the reply (exit code "
                    f"{self.server.exit_code}); it restarts with the next message. "
                    f"Its last output:\n{self.server.tail()}"
                ) from exc
            raise

    async def close(self) -> None:
        async with self._lock:
            await self._drop_inner()
            await self.server.stop()

    async def _drop_inner(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            await inner.close()
