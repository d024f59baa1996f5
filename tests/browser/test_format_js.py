"""ui/format.js formats sizes and durations exactly as gemma_chat.util.units does, so one file
shows one size in every panel and in the CLI: both are checked against one table."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.test_util import BYTES, DURATIONS

CHECK = """async ([bytes, durations]) => {
  const { formatBytes, formatDuration } = await import('/static/format.js');
  return [bytes.map(([n]) => formatBytes(n)), durations.map(([s]) => formatDuration(s))];
}"""


def test_format_js_matches_python(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("ok", tps=40))
    page.goto(server.open_url)
    got_bytes, got_durations = page.evaluate(CHECK, [BYTES, DURATIONS])
    assert got_bytes == [text for _, text in BYTES]
    assert got_durations == [text for _, text in DURATIONS]
    # What the UI gets for a missing value: nothing, not "NaN B".
    assert page.evaluate(
        "async () => { const f = await import('/static/format.js');"
        " return [f.formatBytes(null), f.formatBytes(undefined), f.formatDuration(null)]; }"
    ) == ["", "", ""]
