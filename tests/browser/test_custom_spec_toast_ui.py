"""The model picker's Custom field: a spec that fails is quoted in the toast exactly as
typed (the toast used to show a shortened one: 'gguf:model.gguf' for a full path)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import authed
from tests.chromium import sign_in


def test_the_toast_quotes_the_spec_exactly_as_typed(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("Still here."))
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")

    toast = page.locator('.composer-wrap [data-testid="error-banner"]')
    for typed in (
        "gguf:/no/such/dir/model.gguf",
        "replay:/tmp/not-here/script.txt",
        "hf:nobody/nothing-GGUF:Q4_K_M",
        "bogus:thing",
    ):
        page.get_by_test_id("model-pill").click()
        picker = page.get_by_test_id("model-picker")
        expect(picker).to_be_visible()
        box = picker.get_by_test_id("custom-model-input")
        box.fill(f"  {typed} ")  # stray spaces around it are not part of the spec
        box.press("Enter")
        expect(toast).to_be_visible()
        expect(toast).to_contain_text(f"Could not switch to {typed}: ")
        page.keyboard.press("Escape")
