"""The model picker, the Think toggle and the context notice, in a real browser against the
real server. Downloads can't reach Hugging Face from a test, so their UI is driven by a
fake pull stream (a canned SSE body via page.route, or a live one fed from the test)."""

from __future__ import annotations

import json
import os
import re

import pytest
from playwright.sync_api import Page, Route, expect

from gemma_chat.models import catalogue, download
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.hardware import Hardware
from gemma_chat.models.preflight import HardwareCache
from tests import authed
from tests.chromium import sign_in
from tests.models.fake_hf import FakeHub, StaticCatalogue, make_entry


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def messages(page: Page, role: str | None = None):
    selector = '[data-testid="message"]'
    if role:
        selector += f'[data-role="{role}"]'
    return page.locator(selector)


def open_picker(page: Page):
    page.get_by_test_id("model-pill").click()
    picker = page.get_by_test_id("model-picker")
    expect(picker).to_be_visible()
    expect(picker.get_by_test_id("models-local").get_by_test_id("model-row").first).to_be_visible()
    return picker


def conversation(server, conv_id: str) -> dict:
    return authed.get(f"{server.url}/api/conversations/{conv_id}").json()


def run_turn(server, conv_id: str, content: str) -> list[str]:
    """Send a message through the API and wait for the turn to end; returns event names."""
    names = []
    url = f"{server.url}/api/conversations/{conv_id}/messages"
    with authed.stream("POST", url, json={"content": content}, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
    return names


def patch_models(page: Page, change) -> None:
    """Serve GET /api/models from the real server, edited by change(body)."""

    def handle(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, json=body)

    page.route("**/api/models", handle)


def sse(*events: tuple[str, dict]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


# A pull stream the test feeds event by event (fetch is wrapped before the app loads).
LIVE_PULL = """
window.__pulls = [];
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  if (!url.endsWith('/api/models/pull')) return realFetch(input, init);
  let controller;
  const body = new ReadableStream({ start: (c) => { controller = c; } });
  const enc = new TextEncoder();
  window.__pulls.push({
    request: JSON.parse(init.body),
    send: (name, data) =>
      controller.enqueue(enc.encode(`event: ${name}\\ndata: ${JSON.stringify(data)}\\n\\n`)),
    close: () => controller.close(),
  });
  return Promise.resolve(
    new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
  );
};
"""


def test_picker_lists_models_and_switches_the_conversation(
    start_server, replay_file, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine with 22 GB of RAM free and no GPU: the fit verdicts below are its own.
    hardware = Hardware("Linux", "x86_64", 24 * 1024**3, 22 * 10**9, 2, 2)
    monkeypatch.setattr(HardwareCache, "get", lambda self: hardware)
    alpha = replay_file("Alpha answer.")
    beta = replay_file("Beta answer.")
    server = start_server(alpha)
    page.goto(server.open_url)
    pill = page.get_by_test_id("model-name")
    expect(pill).to_contain_text("Replay")
    send(page, "First question")
    first = messages(page, "assistant").last
    expect(first).to_have_attribute("data-status", "complete")
    conv_id = authed.get(f"{server.url}/api/conversations").json()["conversations"][0]["id"]
    expect(page.get_by_test_id("think-toggle")).to_be_hidden()  # replay models don't think

    picker = open_picker(page)
    local = picker.get_by_test_id("models-local")
    expect(local.locator('[data-spec="embedded"]')).to_contain_text("SmolLM2")
    current = local.locator(f'[data-spec="{alpha}"] .mp-choose')
    expect(current).to_have_attribute("aria-current", "true")

    # The catalogue: every entry not downloaded, each with its memory-fit verdict.
    catalogue = picker.get_by_test_id("catalogue-row")
    expect(catalogue.first).to_be_visible()
    names = catalogue.locator(".mp-name-text").all_inner_texts()
    assert "Gemma 4 E4B" in names and "Gemma 3n E2B" in names, names
    badges = catalogue.get_by_test_id("fit-badge")
    expect(badges).to_have_count(catalogue.count())
    for spec, label in {
        "gemma-4-e2b": "fits",  # about 5 GB
        "gemma-4-12b": "fits",  # about 9 GB
        "gemma-4-26b-a4b": "tight",  # about 19.6 GB: over 85% of what is free
        "gemma-4-31b": "won't fit",  # about 24 GB
    }.items():
        expect(
            picker.locator(
                f'[data-testid="catalogue-row"][data-spec="{spec}"] [data-testid="fit-badge"]'
            )
        ).to_have_text(label)
    assert badges.first.get_attribute("title")  # the planner's message
    expect(catalogue.first.get_by_test_id("download-model")).to_be_visible()

    # Engines: the built-in llama.cpp is always there.
    engines = picker.get_by_test_id("models-engines")
    expect(engines.get_by_test_id("engine").first).to_be_visible(timeout=20_000)
    expect(engines.locator('[data-engine="llama-cpp-python"]')).to_be_visible()

    # Switch through the Custom field.
    picker.get_by_test_id("custom-model-input").fill(beta)
    picker.get_by_test_id("custom-model-use").click()
    expect(picker).to_be_hidden()
    expect(pill).to_have_text(re.compile(r"Replay \(replay-\d+\.txt\)"))
    assert conversation(server, conv_id)["model"] == beta  # the open conversation PATCHed
    assert authed.get(f"{server.url}/api/models").json()["active"] == beta  # and the default
    # The earlier reply now says which model wrote it.
    tag = first.get_by_test_id("message-model")
    expect(tag).to_be_visible()
    expect(tag).to_have_attribute("title", f"Written by {alpha}")

    send(page, "Second question")
    second = messages(page, "assistant").last
    expect(second.get_by_test_id("message-content")).to_have_text("Beta answer.")
    expect(second.get_by_test_id("message-model")).to_be_hidden()

    # Clicking a row (the embedded model) switches too, with a spinner while it loads.
    held: list[Route] = []
    page.route("**/api/models/load", lambda route: held.append(route))
    picker = open_picker(page)
    row = picker.get_by_test_id("models-local").locator('[data-spec="embedded"]')
    row.locator(".mp-choose").click()
    expect(row).to_have_class(re.compile(r"\bloading\b"))
    expect(row.locator(".mp-mark .spinner")).to_be_visible()
    expect(pill).to_have_text("Loading SmolLM2 135M…")  # the full name: the tooltip
    expect(page.get_by_test_id("model-pill")).to_have_attribute("data-state", "loading")
    page.wait_for_timeout(100)
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/api/models/load")
    expect(picker).to_be_hidden(timeout=60_000)
    expect(pill).to_have_text(re.compile(r"^SmolLM2"))
    assert conversation(server, conv_id)["model"] == "embedded"

    # A conversation on another model shows that model; choosing in the picker moves it.
    other = authed.post(f"{server.url}/api/conversations", json={"model": beta}).json()
    page.goto(f"{server.url}/#/c/{other['id']}")
    expect(pill).to_have_text(re.compile(r"Replay \(replay-\d+\.txt\)"))
    picker = open_picker(page)
    expect(
        picker.get_by_test_id("models-local").locator(f'[data-spec="{beta}"] .mp-choose')
    ).to_have_attribute("aria-current", "true")
    gguf = f"gguf:{embedded_model_path()}"
    picker.get_by_test_id("custom-model-input").fill(gguf)
    picker.get_by_test_id("custom-model-input").press("Enter")
    expect(picker).to_be_hidden(timeout=60_000)
    expect(pill).not_to_contain_text("Replay")
    assert conversation(server, other["id"])["model"] == gguf


def test_bad_spec_shows_the_reason_and_keeps_the_model(
    start_server, replay_file, page: Page
) -> None:
    spec = replay_file("Still here.")
    server = start_server(spec)
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    pill = page.get_by_test_id("model-name")
    expect(pill).to_contain_text("Replay")
    before = pill.inner_text()

    picker = open_picker(page)
    picker.get_by_test_id("custom-model-input").fill("gguf:/no/such/model.gguf")
    picker.get_by_test_id("custom-model-use").click()
    toast = page.locator('.composer-wrap [data-testid="error-banner"]')
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Could not switch to gguf:/no/such/model.gguf")
    expect(toast).to_contain_text("not found")  # the server's own reason
    expect(toast).to_contain_text(f"still using {before}")
    expect(pill).to_have_text(before)
    expect(picker).to_be_visible()  # open, to try another
    expect(picker.get_by_test_id("custom-model-input")).to_have_value("gguf:/no/such/model.gguf")
    assert conversation(server, conv["id"])["model"] == spec
    assert authed.get(f"{server.url}/api/models").json()["active"] == spec

    picker.get_by_test_id("custom-model-input").fill("bogus:thing")
    picker.get_by_test_id("custom-model-input").press("Enter")
    expect(toast).to_contain_text("Unknown model spec")
    expect(pill).to_have_text(before)


def test_keyboard_opens_navigates_and_closes_the_picker(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file("Hi."))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")

    page.locator("#help-button").click()
    expect(page.locator("#help-popover")).to_contain_text("Choose a model")
    page.keyboard.press("Escape")

    page.keyboard.press("Control+Shift+M")
    picker = page.get_by_test_id("model-picker")
    expect(picker).to_be_visible()
    expect(page.get_by_test_id("model-pill")).to_have_attribute("aria-expanded", "true")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-current", "true")  # starts on the current model
    page.keyboard.press("ArrowDown")
    expect(focused).not_to_have_attribute("aria-current", "true")
    page.keyboard.press("ArrowUp")
    expect(focused).to_have_attribute("aria-current", "true")
    # Shift+Tab from the first control wraps to the last one: focus stays in the popover.
    page.keyboard.press("Home")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.getElementById('model-picker').contains(document.activeElement)")

    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(page.get_by_test_id("model-pill")).to_be_focused()
    expect(page.get_by_test_id("model-pill")).to_have_attribute("aria-expanded", "false")

    open_picker(page)
    page.locator("#conv-heading").click()  # outside
    expect(picker).to_be_hidden()


def test_engine_models_are_selectable_and_stopped_engines_explain_why(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file("Hi."))
    engines = {
        "engines": [
            {
                "name": "ollama",
                "url": "http://127.0.0.1:11434",
                "running": True,
                "spec": "ollama:gemma3",
                "models": [
                    {"spec": "ollama:gemma3:4b", "name": "gemma3:4b"},
                    {"spec": "ollama:qwen3:8b", "name": "qwen3:8b"},
                ],
                "note": "Ollama 0.12.3",
            },
            {
                "name": "vllm",
                "url": "http://127.0.0.1:8000",
                "running": False,
                "spec": None,
                "models": [],
                "note": "nothing answered at http://127.0.0.1:8000",
            },
            {
                "name": "llama-cpp-python",
                "url": None,
                "kind": "in-process",
                "running": True,
                "spec": "gguf:PATH",
                "models": [],
                "note": "CPU-only build (no GPU offload)",
            },
        ]
    }
    page.route("**/api/models/engines", lambda route: route.fulfill(json=engines))
    loads = []

    def load(route: Route) -> None:
        loads.append(route.request.post_data_json)
        route.fulfill(status=422, json={"detail": "Ollama stopped answering"})

    page.route("**/api/models/load", load)
    page.goto(server.open_url)
    picker = open_picker(page)
    section = picker.get_by_test_id("models-engines")
    ollama = section.locator('[data-engine="ollama"]')
    expect(ollama.get_by_test_id("engine-model")).to_have_count(2)
    stopped = section.locator('[data-engine="vllm"]')
    expect(stopped).to_have_class(re.compile(r"\bis-stopped\b"))
    expect(stopped).to_contain_text("nothing answered at http://127.0.0.1:8000")
    expect(stopped.locator("button")).to_have_count(0)  # nothing to pick there

    ollama.get_by_test_id("engine-model").first.locator(".mp-choose").click()
    toast = page.locator('.composer-wrap [data-testid="error-banner"]')
    expect(toast).to_contain_text("Could not switch to gemma3:4b: Ollama stopped answering")
    assert loads == [{"model": "ollama:gemma3:4b"}]
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")

    # An engine that takes a path starts the spec in the Custom field.
    section.locator('[data-engine="llama-cpp-python"] .mp-template').click()
    field = picker.get_by_test_id("custom-model-input")
    expect(field).to_be_focused()
    expect(field).to_have_value("gguf:")


def test_think_toggle_patches_the_conversation(start_server, replay_file, page: Page) -> None:
    spec = replay_file("<think>Hmm.</think>Thought about it.\n=== turn ===\nAgain.")
    server = start_server(spec)
    # Replay models report no thinking; pretend this one does, as Gemma 4 would.
    patch_models(
        page,
        lambda body: [m.update(thinking=True) for m in body["models"] if m["spec"] == spec],
    )
    page.goto(server.open_url)
    think = page.get_by_test_id("think-toggle")
    expect(think).to_be_visible()
    expect(think).to_have_attribute("aria-pressed", "false")  # null: the model's default

    # Before the conversation exists the choice is kept, then applied right after creation.
    think.click()
    expect(think).to_have_attribute("aria-pressed", "true")
    send(page, "Think first")
    expect(messages(page, "assistant").last).to_have_attribute("data-status", "complete")
    conv_id = authed.get(f"{server.url}/api/conversations").json()["conversations"][0]["id"]
    assert conversation(server, conv_id)["thinking"] is True
    expect(think).to_have_attribute("aria-pressed", "true")

    think.click()
    expect(think).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(
        f"fetch('/api/conversations/{conv_id}').then(r => r.json()).then(c => c.thinking === false)"
    )
    page.reload()
    expect(page.get_by_test_id("think-toggle")).to_have_attribute("aria-pressed", "false")
    page.get_by_test_id("think-toggle").click()
    expect(page.get_by_test_id("think-toggle")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        f"fetch('/api/conversations/{conv_id}').then(r => r.json()).then(c => c.thinking === true)"
    )

    # A new chat starts from the model's default again.
    page.get_by_test_id("new-chat").click()
    expect(page.get_by_test_id("think-toggle")).to_have_attribute("aria-pressed", "false")


def test_context_notice_for_a_small_context(start_server, replay_file, page: Page) -> None:
    words = " ".join(f"word{i}" for i in range(120))
    segments = [f"Reply {i}: {words}" for i in range(3)]
    segments.append(" ".join(f"Final{i}." for i in range(60)))
    spec = replay_file("\n=== turn ===\n".join(segments), tps=60) + "&ctx=600"
    server = start_server(spec)
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    for i in range(3):  # a history far longer than 600 tokens
        run_turn(server, conv["id"], f"Question {i}: " + " ".join(f"q{i}w{j}" for j in range(150)))

    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    expect(messages(page)).to_have_count(6)
    expect(page.locator('[data-testid="context-notice"]:visible')).to_have_count(0)
    send(page, "One more question")
    reply = messages(page, "assistant").last
    notice = reply.get_by_test_id("context-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(
        "Older messages were shortened or left out so the conversation fits the model's "
        "600-token context."
    )
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(reply.get_by_test_id("message-content")).to_contain_text("Final3.")
    expect(notice).to_be_visible()  # still there while the reply streams in
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(notice).to_be_visible()
    # It sits above the reply's text.
    assert notice.bounding_box()["y"] < reply.get_by_test_id("message-content").bounding_box()["y"]


def test_download_progress_cancel_and_resume(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("Hi."))
    page.add_init_script(LIVE_PULL)
    cancels = []

    def cancel(route: Route) -> None:
        cancels.append(route.request.post_data_json)
        route.fulfill(json={"cancelled": True})

    page.route("**/api/models/pull/cancel", cancel)
    page.goto(server.open_url)
    picker = open_picker(page)
    row = picker.locator('[data-testid="catalogue-row"][data-spec="gemma-4-e2b"]')
    row.get_by_test_id("download-model").click()
    progress = row.get_by_test_id("download-progress")
    expect(progress).to_be_visible()
    assert page.evaluate("window.__pulls[0].request") == {"model": "gemma-4-e2b"}

    page.evaluate(
        """window.__pulls[0].send('progress', {file: 'gemma-4-E2B-it-Q4_K_M.gguf',
           phase: 'downloading', downloaded: 1.2e9, total: 5.1e9, bytes_per_s: 48e6,
           eta_s: 80, files_done: 0, files_total: 2})"""
    )
    expect(row.get_by_test_id("download-percent")).to_have_text("23%")
    expect(row.get_by_test_id("download-detail")).to_have_text(
        "1.2 GB of 5.1 GB · 48 MB/s · 1 min left"
    )
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "23")

    # Progress survives closing and reopening the picker.
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    page.evaluate(
        """window.__pulls[0].send('progress', {phase: 'downloading', downloaded: 2.55e9,
           total: 5.1e9, bytes_per_s: 50e6, eta_s: 51})"""
    )
    picker = open_picker(page)
    row = picker.locator('[data-testid="catalogue-row"][data-spec="gemma-4-e2b"]')
    expect(row.get_by_test_id("download-percent")).to_have_text("50%")
    expect(row.get_by_test_id("download-detail")).to_contain_text("2.6 GB of 5.1 GB · 50 MB/s")

    # Cancel: POST …/pull/cancel; the stream ends and the row offers to resume.
    row.get_by_test_id("cancel-download").click()
    expect(row.get_by_test_id("cancel-download")).to_have_text("Cancelling…")
    page.evaluate(
        "window.__pulls[0].send('error', {message: 'cancelled'}); window.__pulls[0].close()"
    )
    expect(row.get_by_test_id("download-model")).to_have_text("Resume")
    expect(row.get_by_test_id("download-detail")).to_contain_text("Paused")
    assert cancels == [{"model": "gemma-4-e2b"}]
    expect(row.get_by_test_id("download-error")).to_have_count(0)


def test_real_pull_from_a_fake_hub_with_cancel_and_resume(
    start_server, replay_file, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's own pull (POST /api/models/pull) against a Hugging Face stand-in."""
    model = os.urandom(3_000_000)
    with FakeHub() as hub:
        hub.add_repo("acme/tiny-GGUF", {"tiny-Q4_K_M.gguf": model})
        hub.throttle_bps = 600_000  # about 5 s: time to watch it and cancel
        tiny = make_entry("tiny-1b", "acme/tiny-GGUF", {"Q4_K_M": ("tiny-Q4_K_M.gguf", model)})
        entries = StaticCatalogue(tiny, *[e for e in catalogue.all_entries() if e.builtin])
        monkeypatch.setattr(catalogue, "all_entries", entries.all_entries)
        monkeypatch.setattr(catalogue, "find", entries.find)
        monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        server = start_server(replay_file("Hi."))
        page.goto(server.open_url)
        picker = open_picker(page)
        row = picker.locator('[data-testid="catalogue-row"][data-spec="tiny-1b"]')
        expect(row).to_contain_text("3 MB download")
        row.get_by_test_id("download-model").click()
        detail = row.get_by_test_id("download-detail")
        expect(detail).to_contain_text(re.compile(r"[\d.]+ [kM]?B of 3 MB · [\d.]+ [kM]?B/s"))
        expect(row.get_by_test_id("download-percent")).to_have_text(re.compile(r"^\d+%$"))

        row.get_by_test_id("cancel-download").click()
        expect(row.get_by_test_id("download-model")).to_have_text("Resume")
        expect(detail).to_contain_text("Paused")
        hub.throttle_bps = None
        row.get_by_test_id("download-model").click()
        local = picker.get_by_test_id("models-local")
        expect(local.locator('[data-spec="tiny-1b"]')).to_be_visible(timeout=20_000)
        expect(
            picker.get_by_test_id("models-catalogue").locator('[data-spec="tiny-1b"]')
        ).to_have_count(0)
        gets = hub.gets("tiny-Q4_K_M.gguf")
        assert gets[-1].range and gets[-1].range.startswith("bytes="), "the pull resumed"
        listed = authed.get(f"{server.url}/api/models").json()["models"]
        assert next(m for m in listed if m["spec"] == "tiny-1b")["installed"] is True


def test_download_done_moves_the_model_and_errors_show_inline(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file("Hi."))
    installed: set[str] = set()

    def mark_installed(body: dict) -> None:
        for m in body["models"]:
            if m["spec"] in installed:
                m["installed"] = True
            if m["spec"] == "gemma-4-31b":  # a deterministic "won't fit" on any machine
                m["fit"] = {
                    "verdict": "wont_fit",
                    "message": "Won't fit: needs 24.1 GB, but only 8.0 GB free",
                    "required_bytes": 24_100_000_000,
                    "available_bytes": 8_000_000_000,
                }

    patch_models(page, mark_installed)
    pulls = []

    def pull(route: Route) -> None:
        model = route.request.post_data_json["model"]
        pulls.append(model)
        if model == "gemma-3n-e2b":
            body = sse(
                ("progress", {"phase": "downloading", "downloaded": 0, "total": 3e9}),
                ("error", {"message": "Hugging Face answered 503: try again later"}),
            )
        else:
            installed.add(model)
            body = sse(
                ("progress", {"phase": "downloading", "downloaded": 1e9, "total": 3e9}),
                ("progress", {"phase": "verifying", "downloaded": 3e9, "total": 3e9}),
                ("done", {"model": {"spec": model, "installed": True}}),
            )
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    page.route("**/api/models/pull", pull)
    page.goto(server.open_url)
    picker = open_picker(page)

    # done: the entry moves up to "On this computer".
    catalogue = picker.get_by_test_id("models-catalogue")
    catalogue.locator('[data-spec="gemma-4-e4b"]').get_by_test_id("download-model").click()
    local = picker.get_by_test_id("models-local")
    expect(local.locator('[data-spec="gemma-4-e4b"]')).to_be_visible()
    expect(catalogue.locator('[data-spec="gemma-4-e4b"]')).to_have_count(0)

    # error: shown in the row, with a retry.
    failing = catalogue.locator('[data-spec="gemma-3n-e2b"]')
    failing.get_by_test_id("download-model").click()
    expect(failing.get_by_test_id("download-error")).to_have_text(
        "Hugging Face answered 503: try again later"
    )
    expect(failing.get_by_test_id("download-model")).to_have_text("Retry")

    # "won't fit": a warning first; Cancel downloads nothing, "Download anyway" does.
    big = catalogue.locator('[data-spec="gemma-4-31b"]')
    expect(big.get_by_test_id("fit-badge")).to_have_text("won't fit")
    big.get_by_test_id("download-model").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Won't fit: needs 24.1 GB")
    page.get_by_test_id("confirm-cancel").click()
    expect(picker).to_be_visible()
    assert "gemma-4-31b" not in pulls
    big.get_by_test_id("download-model").click()
    expect(page.get_by_test_id("confirm-delete")).to_have_text("Download anyway")
    page.get_by_test_id("confirm-delete").click()
    expect(local.locator('[data-spec="gemma-4-31b"]')).to_be_visible()
    assert pulls == ["gemma-4-e4b", "gemma-3n-e2b", "gemma-4-31b"]


def test_picker_screenshots(start_server, replay_file, page: Page) -> None:
    """The open picker in light and dark, for a look (written to /tmp)."""
    server = start_server(replay_file("Hi."))
    page.add_init_script(LIVE_PULL)
    page.goto(server.open_url)
    picker = open_picker(page)
    expect(picker.get_by_test_id("engine").first).to_be_visible(timeout=20_000)
    picker.locator('[data-spec="gemma-4-e4b"]').get_by_test_id("download-model").click()
    page.evaluate(
        """window.__pulls[0].send('progress', {phase: 'downloading', downloaded: 1.2e9,
           total: 5.1e9, bytes_per_s: 48e6, eta_s: 80})"""
    )
    expect(picker.get_by_test_id("download-percent")).to_have_text("23%")
    page.mouse.move(0, 0)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(100)
        page.screenshot(path=f"/tmp/model-picker-{scheme}.png")
