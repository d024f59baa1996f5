"""`embedded` and `gguf:PATH`: llama.cpp in-process through llama-cpp-python.

All llama.cpp work (loading, generation, freeing) runs on one dedicated thread that
hands deltas to the event loop, so the server stays responsive. One thread, not one per
request: llama.cpp's OpenMP build keeps a pool of helper threads per calling thread, and
on a machine with few cores two such pools spin against each other (measured here:
decode fell from ~100 to ~65 tokens/s once a second thread had called into llama.cpp).

We drive llama.cpp token by token (rather than through its chat-completion helper) to
get exact token counts, prefix-cache accounting, and a cancel check between every token
and every prefill slice.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gemma_chat.runtimes.base import (
    LIVE_USAGE_EVERY_S,
    CancelToken,
    Capabilities,
    ChatMessage,
    Delta,
    Finish,
    FinishReason,
    GenerationOptions,
    ModelLoadError,
    RuntimeFailure,
    TokenClock,
    Usage,
)
from gemma_chat.runtimes.stop_strings import StopStringFilter
from gemma_chat.runtimes.system_role import (
    fold_system_prompt,
    has_system_prompt,
    rejects_system_role,
)
from gemma_chat.runtimes.thinking import ThinkingSplitter

GGUF_MAGIC = b"GGUF"
DEFAULT_CONTEXT = 8192
PREFILL_SLICE = 128  # tokens evaluated between cancel checks
CANCEL_GRACE_S = 0.05  # after a stop, how long we wait for the worker to confirm it
_CANCEL_DEADLINE = object()  # queued CANCEL_GRACE_S after a stop
# Used only when a GGUF carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# The one thread that calls into llama.cpp (see the module docstring).
LLAMA_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama.cpp")


def physical_cores() -> int:
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except Exception:
        count = None
    return max(1, count or os.cpu_count() or 1)


def check_gguf_file(path: Path) -> None:
    """Fail early, with a message a user can act on, before llama.cpp sees the file."""
    if not path.exists():
        raise ModelLoadError(f"Model file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"Model path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelLoadError(f"Cannot read model file {path}: {exc.strerror}") from exc
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"Not a GGUF model file (bad header): {path}")


class LlamaCppRuntime:
    resident = True  # the model lives in this process's memory (see runtimes/pool.py)

    def __init__(
        self,
        spec: str,
        path: Path,
        name: str | None = None,
        context_length: int | None = None,
        defaults: GenerationOptions | None = None,
        repeat_penalty: float = 1.0,
        build_grammar: str | None = None,
        mmproj: Path | None = None,
        n_gpu_layers: int = -1,
    ) -> None:
        self.spec = spec
        self.path = path
        self.name = name or path.stem
        self.defaults = defaults or GenerationOptions()
        self.repeat_penalty = repeat_penalty
        # How Build mode constrains this model's actions (agent/loop.py GrammarMode).
        self.build_grammar = build_grammar
        self._requested_context = context_length
        self.mmproj = mmproj  # the image/audio projector, for multimodal input
        # Layers offloaded to a GPU (-1: all); a no-op in a CPU-only build of llama.cpp.
        # The memory preflight lowers it when free VRAM holds only part of the model.
        self.n_gpu_layers = n_gpu_layers
        self._llm: Any = None
        self._formatter: Any = None
        self._load_lock = asyncio.Lock()
        self._grammars: dict[str, Any] = {}
        self._context_length = context_length or DEFAULT_CONTEXT
        # Control tokens that must reach the thinking splitter as text (Gemma 4's
        # `<|channel>` / `<channel|>`); every other special token is dropped from output.
        self._marker_tokens: frozenset[int] = frozenset()
        self._fold_system = False  # set once the template has refused a system message
        self._template_thinks = False  # the chat template has an enable_thinking switch

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            context_length=self._context_length, grammar=True, thinking=self._template_thinks
        )

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def requested_context(self) -> int:
        return self._requested_context or DEFAULT_CONTEXT

    @property
    def memory_bytes(self) -> int:
        """Roughly what the loaded model holds: its weights (the file is mapped whole)."""
        if self._llm is None:
            return 0
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    async def load(self) -> None:
        async with self._load_lock:
            if self._llm is None:
                await asyncio.get_running_loop().run_in_executor(LLAMA_THREAD, self._load_sync)

    def _load_sync(self) -> None:
        check_gguf_file(self.path)
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelLoadError(f"llama-cpp-python is not installed correctly: {exc}") from exc
        threads = physical_cores()

        def open_model(n_ctx: int) -> Any:
            return Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.n_gpu_layers,
                verbose=False,
            )

        probe_ctx = self._requested_context or DEFAULT_CONTEXT
        try:
            llm = open_model(probe_ctx)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {self.path.name}: {exc}") from exc
        trained = _trained_context(llm.metadata)
        if self._requested_context is None and trained and trained < probe_ctx:
            llm.close()  # a model trained on less context gets no more than that
            llm = open_model(trained)
        self._context_length = llm.n_ctx()
        template = llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        self._template_thinks = "enable_thinking" in template
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=_token_text(llm, llm.token_eos()),
            bos_token=_token_text(llm, llm.token_bos()),
        )
        if not self.name or self.name == self.path.stem:
            self.name = llm.metadata.get("general.name") or self.path.stem
        self._marker_tokens = _marker_tokens(llm, ThinkingSplitter().markers)
        self._llm = llm

    def render_prompt(
        self, messages: list[ChatMessage], thinking: bool | None = None
    ) -> tuple[list[int], list[str]]:
        """Apply the model's own chat template; returns prompt tokens and stop strings.

        `thinking` becomes the template's `enable_thinking` switch (Gemma 4, Qwen 3, ...);
        templates without one ignore it.
        """
        assert self._llm is not None and self._formatter is not None
        if self._fold_system:
            messages = fold_system_prompt(messages)
        extra = {} if thinking is None else {"enable_thinking": thinking}
        try:
            result = self._formatter(
                messages=[{"role": m.role, "content": m.content} for m in messages], **extra
            )
        except Exception as exc:
            if self._fold_system or not has_system_prompt(messages):
                raise RuntimeFailure(f"The model's chat template failed: {exc}") from exc
            if not rejects_system_role(str(exc)):
                raise RuntimeFailure(f"The model's chat template failed: {exc}") from exc
            self._fold_system = True  # this template has no system role: fold from now on
            return self.render_prompt(messages, thinking)
        tokens = self._llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        stops = (
            result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        )
        return tokens, [s for s in stops if s]

    async def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts by the model's own tokenizer (for the context budget)."""
        await self.load()

        def count() -> list[int]:
            tokenize = self._llm.tokenize
            return [len(tokenize(t.encode("utf-8"), add_bos=False, special=True)) for t in texts]

        return await asyncio.get_running_loop().run_in_executor(LLAMA_THREAD, count)

    async def count_prompt_tokens(self, messages: list[ChatMessage]) -> int:
        """The exact prompt length, chat template included."""
        await self.load()
        loop = asyncio.get_running_loop()
        tokens, _ = await loop.run_in_executor(LLAMA_THREAD, self.render_prompt, messages)
        return len(tokens)

    async def stream(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        await self.load()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Delta | BaseException | object] = asyncio.Queue()

        def emit(item: Delta | BaseException | object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        # A stop wakes us at once. If the worker has not confirmed it within a grace
        # period (it may be inside one long llama.cpp call, or queued behind another
        # conversation's turn) we finish without it: a stop must never wait.
        def on_cancel() -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone by then
                loop.call_soon_threadsafe(
                    loop.call_later, CANCEL_GRACE_S, queue.put_nowait, _CANCEL_DEADLINE
                )

        cancel.on_cancel(on_cancel)
        LLAMA_THREAD.submit(self._generate_sync, messages, options, cancel, emit)
        last_usage = Usage()
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is _CANCEL_DEADLINE:
                    finished = True
                    yield Finish("cancelled", last_usage)
                    return
                if isinstance(item, BaseException):
                    finished = True
                    raise item
                if isinstance(item, Usage):
                    last_usage = item
                finished = isinstance(item, Finish)
                yield item
                if finished:
                    return
        finally:
            if not finished:
                cancel.cancel()  # nobody is listening any more: free the model

    def _generate_sync(
        self,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
        emit: Callable[[Delta | BaseException], None],
    ) -> None:
        try:
            self._run_generation(messages, options, cancel, emit)
        except BaseException as exc:
            emit(
                exc
                if isinstance(exc, RuntimeFailure)
                else RuntimeFailure(f"Generation failed: {exc}")
            )

    def _run_generation(
        self,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
        emit: Callable[[Delta | BaseException], None],
    ) -> None:
        llm = self._llm
        started = time.perf_counter()
        prompt, template_stops = self.render_prompt(messages, options.thinking)
        usage = Usage(prompt_tokens=len(prompt))
        room = self._context_length - len(prompt)
        if room <= 1:
            raise RuntimeFailure(
                f"The conversation ({len(prompt)} tokens) does not fit the model's context "
                f"({self._context_length} tokens). Start a new conversation."
            )
        merged = _merge(options, self.defaults)
        max_tokens = min(merged.max_tokens or room, room)
        usage.cached_tokens = self._prefill(prompt, cancel)
        if cancel.cancelled:
            emit(Finish("cancelled", usage))
            return

        if merged.seed is not None:
            llm.set_seed(merged.seed)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = StopStringFilter([*template_stops, *merged.stop])
        splitter = ThinkingSplitter()
        is_eog = _eog_check(llm)
        reason: FinishReason = "length"
        clock = TokenClock(usage, started)
        last_live = 0.0

        def send_text(text: str) -> None:
            for delta in splitter.feed(text):
                emit(delta)

        generator = llm.generate(
            prompt,
            grammar=self._grammar(merged.grammar),
            temp=merged.temperature if merged.temperature is not None else 0.8,
            top_p=merged.top_p if merged.top_p is not None else 0.95,
            top_k=merged.top_k if merged.top_k is not None else 40,
            min_p=0.0 if merged.temperature == 0 else 0.05,
            repeat_penalty=self.repeat_penalty,
        )
        try:
            for token in generator:
                if cancel.cancelled:
                    reason = "cancelled"
                    break
                now = time.perf_counter()
                clock.first(now)
                if is_eog(token):
                    reason = "stop"
                    break
                clock.count(now)
                special = token in self._marker_tokens
                piece = decoder.decode(llm.detokenize([token], special=special))
                text, hit = stops.feed(piece)
                if text:
                    send_text(text)
                if hit:
                    reason = "stop"
                    break
                if now - last_live >= LIVE_USAGE_EVERY_S:
                    last_live = now
                    emit(Usage(**usage.as_dict()))
                if usage.completion_tokens >= max_tokens:
                    reason = "length"
                    break
        finally:
            generator.close()
        if not stops.stopped:
            tail = stops.flush() + decoder.decode(b"", final=True)
            if tail:
                send_text(tail)
        for delta in splitter.flush():
            emit(delta)
        emit(Finish(reason, usage))

    def _grammar(self, source: str | None) -> Any:
        """Compile a GBNF grammar once; agent rounds reuse the same one many times."""
        if not source:
            return None
        cached = self._grammars.get(source)
        if cached is None:
            from llama_cpp import LlamaGrammar

            try:
                cached = LlamaGrammar.from_string(source, verbose=False)
            except ValueError as exc:
                raise RuntimeFailure(f"Invalid grammar: {exc}") from exc
            self._grammars = {source: cached}  # keep only the latest
        return cached

    def _prefill(self, prompt: list[int], cancel: CancelToken) -> int:
        """Evaluate all but the last prompt token in slices; returns tokens reused from cache.

        llama.cpp's own generate() evaluates the prompt in one call we could not interrupt;
        after this, it finds the prompt cached and only evaluates the final token.
        """
        llm = self._llm
        cached = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens], prompt)
        cached = min(cached, len(prompt) - 1)
        llm.n_tokens = cached
        for begin in range(cached, len(prompt) - 1, PREFILL_SLICE):
            if cancel.cancelled:
                break
            llm.eval(prompt[begin : min(begin + PREFILL_SLICE, len(prompt) - 1)])
        return cached

    async def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            # Queued behind any generation still finishing, so it never frees a live context.
            await asyncio.get_running_loop().run_in_executor(LLAMA_THREAD, llm.close)


def _merge(options: GenerationOptions, defaults: GenerationOptions) -> GenerationOptions:
    return GenerationOptions(
        max_tokens=options.max_tokens if options.max_tokens is not None else defaults.max_tokens,
        temperature=options.temperature
        if options.temperature is not None
        else defaults.temperature,
        top_p=options.top_p if options.top_p is not None else defaults.top_p,
        top_k=options.top_k if options.top_k is not None else defaults.top_k,
        seed=options.seed if options.seed is not None else defaults.seed,
        stop=options.stop or defaults.stop,
        grammar=options.grammar or defaults.grammar,
        thinking=options.thinking if options.thinking is not None else defaults.thinking,
    )


def _marker_tokens(llm: Any, markers: tuple[str, ...]) -> frozenset[int]:
    """The control tokens that spell (part of) a thinking marker in this vocabulary."""
    found: set[int] = set()
    for marker in markers:
        for token in llm.tokenize(marker.encode("utf-8"), add_bos=False, special=True):
            if not llm.detokenize([token], special=False) and llm.detokenize([token], special=True):
                found.add(token)
    return frozenset(found)


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="replace")


def _trained_context(metadata: dict[str, str]) -> int | None:
    for key, value in metadata.items():
        if key.endswith(".context_length"):
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _eog_check(llm: Any) -> Callable[[int], bool]:
    try:
        import llama_cpp

        vocab = llm._model.vocab
        return lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token))
    except (AttributeError, ImportError):  # older bindings
        eos = llm.token_eos()
        return lambda token: token == eos
