"""`embedded` and `gguf:PATH`: llama.cpp in-process through llama-cpp-python.

All llama.cpp work (loading, generation, freeing) runs on one dedicated thread that
hands deltas to the event loop, so the server stays responsive. One thread, not one per
request: llama.cpp's OpenMP build keeps a pool of helper threads per calling thread, and
on a machine with few cores two such pools spin against each other (measured here:
decode fell from ~100 to ~65 tokens/s once a second thread had called into llama.cpp).

We drive llama.cpp token by token (rather than through its chat-completion helper) to
get exact token counts, prefix-cache accounting, and a cancel check between every token
and every prefill slice.

Images and audio: with a projector (`self.mmproj`, the model's mmproj GGUF) we open an
mtmd context next to the model. A message with media is rendered by the model's own
template with mtmd's media marker where each medium goes (after a short label naming it,
such as a video frame's timestamp); mtmd splits that prompt into text and media chunks;
text chunks go through the same sliced prefill as text prompts, media chunks through
mtmd's encoder; then the usual token-by-token loop generates. A prompt without media
takes the text path unchanged.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from gemma_chat.errors import ModelLoadError, RuntimeFailure
from gemma_chat.runtimes.base import (
    BuildGrammar,
    CancelToken,
    Capabilities,
    ChatMessage,
    Delta,
    Finish,
    FinishReason,
    GenerationOptions,
    MediaPart,
    RuntimeBase,
    Usage,
)
from gemma_chat.runtimes.kv_reuse import Plan, plan_reuse
from gemma_chat.runtimes.media_format import (
    has_media,
    label_text,
    media_kinds,
    media_of,
)
from gemma_chat.runtimes.meter import UsageMeter
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


log = logging.getLogger(__name__)

# The one thread that calls into llama.cpp (see the module docstring).
LLAMA_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama.cpp")


def physical_cores() -> int:
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except (ImportError, OSError):  # psutil missing or /proc unreadable: count logical ones
        count = None
    return max(1, count or os.cpu_count() or 1)


def check_gguf_file(path: Path, what: str = "Model") -> None:
    """Fail early, with a message a user can act on, before llama.cpp sees the file."""
    if not path.exists():
        raise ModelLoadError(f"{what} file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"{what} path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelLoadError(f"Cannot read {what.lower()} file {path}: {exc.strerror}") from exc
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"Not a GGUF {what.lower()} file (bad header): {path}")


def media_template_messages(
    messages: list[ChatMessage], marker: str
) -> tuple[list[dict[str, str]], list[MediaPart]]:
    """The messages to render with the chat template, each medium of a user message
    replaced by `marker` (after its label line, if it has a label) before the message
    text; and the media in the order their markers appear."""
    rendered: list[dict[str, str]] = []
    media: list[MediaPart] = []
    for message in messages:
        parts = media_of(message)
        if not parts:
            rendered.append({"role": message.role, "content": message.content})
            continue
        pieces: list[str] = []
        for part in parts:
            label = label_text(part)
            pieces.append(f"{label}\n{marker}" if label else marker)
            media.append(part)
        pieces.append(message.content)
        rendered.append({"role": message.role, "content": "\n".join(pieces)})
    return rendered, media


@dataclass
class _Segment:
    """One mtmd chunk of a media prompt: text tokens, or a medium (`chunk`) filling
    positions [start, end) that we mark in llama's token history with `sentinel`."""

    start: int
    end: int
    tokens: list[int] = field(default_factory=list)
    chunk: Any = None
    sentinel: int = 0


@dataclass
class _MediaPrompt:
    tokens: list[int]  # text tokens, and each medium's sentinel over its positions
    stops: list[str]
    segments: list[_Segment]
    free: Callable[[], None]


class LlamaCppRuntime(RuntimeBase):
    resident = True  # the model lives in this process's memory (see runtimes/pool.py)
    defaults: GenerationOptions  # always set: the model's own sampling defaults

    def __init__(
        self,
        spec: str,
        path: Path,
        name: str | None = None,
        context_length: int | None = None,
        defaults: GenerationOptions | None = None,
        repeat_penalty: float = 1.0,
        build_grammar: BuildGrammar | None = None,
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
        self._mtmd: Any = None  # the projector's mtmd context, when self.mmproj is set
        self._media_modalities: tuple[str, ...] = ()
        self._can_shift = False  # the KV cache can move entries (runtimes/kv_reuse.py)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            context_length=self._context_length,
            modalities=("text", *self._media_modalities),
            grammar=True,
            thinking=self._template_thinks,
        )

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def requested_context(self) -> int:
        return self._requested_context or DEFAULT_CONTEXT

    @property
    def model_file(self) -> Path:
        return self.path

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
        self._can_shift = _can_shift(llm)
        if self.mmproj is not None:
            try:
                self._open_projector(llm, self.mmproj, threads)
            except BaseException:
                llm.close()
                raise
        self._llm = llm

    def _open_projector(self, llm: Any, path: Path, threads: int) -> None:
        """Open the mtmd context for images/audio and learn what it takes."""
        check_gguf_file(path, "Projector")
        try:
            from llama_cpp import mtmd_cpp
        except ImportError as exc:  # pragma: no cover - a build without mtmd
            raise ModelLoadError(f"This llama-cpp-python has no multimodal support: {exc}") from exc
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = self.n_gpu_layers != 0
        params.print_timings = False
        params.n_threads = threads
        ctx = mtmd_cpp.mtmd_init_from_file(str(path).encode(), llm.model, params)
        if not ctx:
            raise ModelLoadError(
                f"llama.cpp could not load the projector {path.name}: is it the mmproj "
                f"file made for {self.path.name}?"
            )
        modalities = []
        if mtmd_cpp.mtmd_support_vision(ctx):
            modalities.append("image")
        if mtmd_cpp.mtmd_support_audio(ctx):
            modalities.append("audio")
        self._mtmd = ctx
        self._media_modalities = tuple(modalities)

    def render_prompt(
        self, messages: list[ChatMessage], thinking: bool | None = None
    ) -> tuple[list[int], list[str]]:
        """Apply the model's own chat template; returns prompt tokens and stop strings.

        `thinking` becomes the template's `enable_thinking` switch (Gemma 4, Qwen 3, ...);
        templates without one ignore it.
        """
        assert self._llm is not None and self._formatter is not None
        result = self._apply_template(
            messages, thinking, lambda ms: [{"role": m.role, "content": m.content} for m in ms]
        )
        tokens = self._llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        stops = (
            result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        )
        return tokens, [s for s in stops if s]

    def _apply_template(
        self,
        messages: list[ChatMessage],
        thinking: bool | None,
        to_dicts: Callable[[list[ChatMessage]], list[dict[str, str]]],
    ) -> Any:
        """The chat template's result; folds the system prompt into the first user turn
        (from now on) when the template refuses a system role.

        A last message from the assistant is a reply to continue (it stopped at the
        length limit): the prompt is the conversation before it, up to the template's
        opening of the assistant's turn, and then that reply's text, with no end-of-turn
        marker, so the model writes on from where it stopped.
        """
        if messages and messages[-1].role == "assistant":
            head = self._apply_template(messages[:-1], thinking, to_dicts)
            return replace(head, prompt=head.prompt + messages[-1].content)
        if self._fold_system:
            messages = fold_system_prompt(messages)
        extra = {} if thinking is None else {"enable_thinking": thinking}
        try:
            return self._formatter(messages=to_dicts(messages), **extra)
        except Exception as exc:
            if self._fold_system or not has_system_prompt(messages):
                raise RuntimeFailure(f"The model's chat template failed: {exc}") from exc
            if not rejects_system_role(str(exc)):
                raise RuntimeFailure(f"The model's chat template failed: {exc}") from exc
            self._fold_system = True  # this template has no system role: fold from now on
            return self._apply_template(messages, thinking, to_dicts)

    def _check_media(self, messages: list[ChatMessage]) -> None:
        kinds = media_kinds(messages)
        if not kinds:
            return
        if self._mtmd is None:
            raise RuntimeFailure(
                f"{self.name}: this model has no projector for images/audio; load it with "
                "its mmproj file (gguf:MODEL?mmproj=MMPROJ, or a catalogue model that has "
                "one) or send the message without media."
            )
        missing = sorted(kinds - set(self._media_modalities))
        if missing:
            raise RuntimeFailure(
                f"{self.name}: this model's projector does not take {' or '.join(missing)}; "
                "send the message without it."
            )

    def _media_prompt(self, messages: list[ChatMessage], thinking: bool | None) -> _MediaPrompt:
        """Render a prompt with media and split it into mtmd chunks (on the llama thread)."""
        from llama_cpp import mtmd_cpp

        marker = mtmd_cpp.mtmd_default_marker().decode("utf-8")
        found: list[MediaPart] = []

        def to_dicts(ms: list[ChatMessage]) -> list[dict[str, str]]:
            rendered, media = media_template_messages(ms, marker)
            found[:] = media
            return rendered

        result = self._apply_template(messages, thinking, to_dicts)
        text: str = result.prompt
        if text.count(marker) != len(found):
            raise RuntimeFailure(
                "The model's chat template dropped images or audio from the prompt "
                f"({text.count(marker)} of {len(found)} placed)."
            )
        stops = (
            result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        )
        bitmaps: list[Any] = []
        chunks = None

        def free() -> None:
            if chunks is not None:
                mtmd_cpp.mtmd_input_chunks_free(chunks)
            for bitmap in bitmaps:
                mtmd_cpp.mtmd_bitmap_free(bitmap)

        try:
            for part in found:
                buffer = (ctypes.c_uint8 * len(part.data)).from_buffer(bytearray(part.data))
                bitmap = mtmd_cpp.mtmd_helper_bitmap_init_from_buf(
                    self._mtmd, buffer, len(part.data), False
                )
                if not bitmap:
                    raise RuntimeFailure(
                        f"llama.cpp could not read the {part.kind} {part.label or part.mime}."
                    )
                bitmaps.append(bitmap)
            encoded = text.encode("utf-8")
            source = mtmd_cpp.mtmd_input_text()
            source.text = encoded
            source.text_len = len(encoded)
            source.add_special = not result.added_special
            source.parse_special = True
            chunks = mtmd_cpp.mtmd_input_chunks_init()
            if not chunks:
                raise RuntimeFailure("llama.cpp could not prepare the media prompt.")
            array = (mtmd_cpp.mtmd_bitmap_p_ctypes * max(len(bitmaps), 1))(*bitmaps)
            code = mtmd_cpp.mtmd_tokenize(
                self._mtmd, chunks, ctypes.byref(source), array, len(bitmaps)
            )
            if code != 0:
                raise RuntimeFailure(f"llama.cpp could not tokenize the media (error {code}).")
            segments = _segments(mtmd_cpp, chunks, found)
        except BaseException:
            free()
            raise
        tokens: list[int] = []
        for segment in segments:
            if segment.chunk is None:
                tokens.extend(segment.tokens)
            else:
                tokens.extend([segment.sentinel] * (segment.end - segment.start))
        if not segments or segments[-1].chunk is not None:
            free()
            raise RuntimeFailure("The media prompt does not end in text; cannot generate.")
        return _MediaPrompt(tokens, [s for s in stops if s], segments, free)

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
                delta = cast(Delta, item)  # the queue holds deltas besides the two above
                if isinstance(delta, Usage):
                    last_usage = delta
                finished = isinstance(delta, Finish)
                yield delta
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
        except BaseException as exc:  # handed to the awaiting stream, which raises it
            if isinstance(exc, RuntimeFailure):
                emit(exc)
                return
            log.exception("generation failed")
            failure = RuntimeFailure(f"Generation failed: {exc}")
            failure.__cause__ = exc  # `raise ... from exc` across the thread boundary
            emit(failure)

    def _run_generation(
        self,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
        emit: Callable[[Delta | BaseException], None],
    ) -> None:
        started = time.perf_counter()
        media: _MediaPrompt | None = None
        if has_media(messages):
            self._check_media(messages)
            media = self._media_prompt(messages, options.thinking)
        try:
            self._run_prompt(messages, options, cancel, emit, media, started)
        finally:
            if media is not None:
                media.free()

    def _run_prompt(
        self,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
        emit: Callable[[Delta | BaseException], None],
        media: _MediaPrompt | None,
        started: float,
    ) -> None:
        llm = self._llm
        if media is None:
            prompt, template_stops = self.render_prompt(messages, options.thinking)
        else:
            prompt, template_stops = media.tokens, media.stops
        meter = UsageMeter(prompt_tokens=len(prompt), started=started)
        usage = meter.usage
        room = self._context_length - len(prompt)
        if room <= 1:
            raise RuntimeFailure(
                f"The conversation ({len(prompt)} tokens) does not fit the model's context "
                f"({self._context_length} tokens). Start a new conversation."
            )
        merged = _merge(options, self.defaults)
        max_tokens = min(merged.max_tokens or room, room)
        if media is None:
            usage.cached_tokens = self._prefill(prompt, cancel)
        else:
            usage.cached_tokens = self._prefill_media(media, cancel)
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
                meter.first_token()
                if is_eog(token):
                    reason = "stop"
                    break
                meter.token()
                special = token in self._marker_tokens
                piece = decoder.decode(llm.detokenize([token], special=special))
                text, hit = stops.feed(piece)
                if text:
                    send_text(text)
                if hit:
                    reason = "stop"
                    break
                if live := meter.live():
                    emit(live)
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
        emit(Finish(reason, meter.finish()))

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

        What the cache already holds is kept, also past a stretch the context budget cut
        out of the conversation (runtimes/kv_reuse.py). llama.cpp's own generate()
        evaluates the prompt in one call we could not interrupt; after this, it finds
        the prompt cached and only evaluates the final token.
        """
        llm = self._llm
        cached = llm.n_tokens
        plan = plan_reuse(llm.input_ids[:cached], prompt, shift=self._can_shift)
        self._apply_reuse(plan)
        for begin in range(llm.n_tokens, len(prompt) - 1, PREFILL_SLICE):
            if cancel.cancelled:
                break
            llm.eval(prompt[begin : min(begin + PREFILL_SLICE, len(prompt) - 1)])
        return plan.reused

    def _apply_reuse(self, plan: Plan) -> None:
        """Drop the gaps before each run from the KV cache and move the run left."""
        llm = self._llm
        memory = llm._ctx
        ids = llm.input_ids[: llm.n_tokens].copy()
        old = plan.prefix  # where the cache's unplanned part begins
        try:
            for run in plan.runs:
                memory.kv_cache_seq_rm(0, old, run.source)
                memory.kv_cache_seq_shift(
                    0, run.source, run.source + run.length, run.target - run.source
                )
                llm.input_ids[run.target : run.target + run.length] = ids[
                    run.source : run.source + run.length
                ]
                old = run.source + run.length
        except BaseException:
            llm.n_tokens = 0  # the cache is half moved: trust none of it
            memory.kv_cache_clear()
            raise
        # eval() drops every cache entry from here on: the rest of the old prompt.
        llm.n_tokens = plan.reused

    def _prefill_media(self, media: _MediaPrompt, cancel: CancelToken) -> int:
        """_prefill for a prompt with media: text chunks in slices, media chunks through
        mtmd's encoder; all but the last token, which generate() evaluates.

        Each medium leaves its sentinel (a negative id derived from its bytes) in llama's
        token history, so a later turn with the same media in the same place reuses the
        cache, and one with other media does not. A run moved past a cut (kv_reuse.py)
        holds whole media: their sentinels match all along or not at all.
        """
        from llama_cpp import llama_cpp as lib
        from llama_cpp import mtmd_cpp

        llm = self._llm
        prompt = media.tokens
        plan = plan_reuse(llm.input_ids[: llm.n_tokens], prompt, shift=self._can_shift)
        inside = [s for s in media.segments if s.chunk is not None]
        if any(s.start < plan.reused < s.end for s in inside):
            prefix = plan.prefix  # never resume inside a medium
            for segment in inside:
                if segment.start < prefix < segment.end:
                    prefix = segment.start
            plan = Plan(prefix)
        self._apply_reuse(plan)
        cached = plan.reused
        last = len(prompt) - 1
        for segment in media.segments:
            if segment.end <= cached or segment.start >= last:
                continue
            if cancel.cancelled:
                break
            if segment.chunk is None:
                end = min(segment.end, last)
                for begin in range(max(segment.start, cached), end, PREFILL_SLICE):
                    if cancel.cancelled:
                        break
                    llm.eval(prompt[begin : min(begin + PREFILL_SLICE, end)])
                continue
            llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
            new_n_past = lib.llama_pos(0)
            code = mtmd_cpp.mtmd_helper_eval_chunk_single(
                self._mtmd,
                llm._ctx.ctx,
                segment.chunk,
                lib.llama_pos(llm.n_tokens),
                lib.llama_seq_id(0),
                llm.n_batch,
                False,
                ctypes.byref(new_n_past),
            )
            if code != 0:
                raise RuntimeFailure(f"llama.cpp could not encode the media (error {code}).")
            llm.input_ids[segment.start : segment.end] = segment.sentinel
            llm.n_tokens = segment.end
        return cached

    async def close(self) -> None:
        llm, self._llm = self._llm, None
        mtmd, self._mtmd = self._mtmd, None
        if llm is not None or mtmd is not None:
            # Queued behind any generation still finishing, so it never frees a live context.
            await asyncio.get_running_loop().run_in_executor(LLAMA_THREAD, _close_all, llm, mtmd)


def _close_all(llm: Any, mtmd: Any) -> None:
    if mtmd is not None:
        from llama_cpp import mtmd_cpp

        mtmd_cpp.mtmd_free(mtmd)
    if llm is not None:
        llm.close()


def _segments(mtmd_cpp: Any, chunks: Any, media: list[MediaPart]) -> list[_Segment]:
    """The chunks mtmd made of a media prompt, with each medium's place and sentinel."""
    raw: list[tuple[Any, int, list[int]]] = []
    for index in range(mtmd_cpp.mtmd_input_chunks_size(chunks)):
        chunk = mtmd_cpp.mtmd_input_chunks_get(chunks, index)
        if not chunk:
            continue
        if mtmd_cpp.mtmd_input_chunk_get_type(chunk) == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_TEXT:
            count = ctypes.c_size_t()
            pointer = mtmd_cpp.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(count))
            raw.append((None, count.value, [pointer[i] for i in range(count.value)]))
        else:
            raw.append((chunk, int(mtmd_cpp.mtmd_input_chunk_get_n_pos(chunk)), []))
    media_chunks = sum(1 for chunk, _, _ in raw if chunk is not None)
    digests = [hashlib.sha256(part.data).digest() for part in media]
    segments: list[_Segment] = []
    position = ordinal = 0
    for chunk, length, tokens in raw:
        if chunk is None:
            segments.append(_Segment(position, position + length, tokens=tokens))
        else:
            # One chunk per medium (the usual case): key on that medium and those before
            # it; otherwise on all of them, which stays correct but reuses less.
            seen = digests[: ordinal + 1] if media_chunks == len(media) else digests
            key = hashlib.sha256(b"".join(seen) + ordinal.to_bytes(4, "little")).digest()
            sentinel = -1 - int.from_bytes(key[:4], "little") % (1 << 30)
            segments.append(_Segment(position, position + length, chunk=chunk, sentinel=sentinel))
            ordinal += 1
        position += length
    return segments


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
    text: str = llm.detokenize([token], special=True).decode("utf-8", errors="replace")
    return text


def _trained_context(metadata: dict[str, str]) -> int | None:
    for key, value in metadata.items():
        if key.endswith(".context_length"):
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _can_shift(llm: Any) -> bool:
    """Whether this model's KV cache can move entries (not, e.g., with M-RoPE)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_memory_can_shift(llm._ctx.memory))
    except (AttributeError, ImportError):  # older bindings
        return False


def _eog_check(llm: Any) -> Callable[[int], bool]:
    try:
        import llama_cpp

        vocab = llm._model.vocab
        return lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token))
    except (AttributeError, ImportError):  # older bindings
        eos = llm.token_eos()
        return lambda token: token == eos
