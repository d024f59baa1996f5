"""Build turns that start from a starter kit: a capable model choosing one (replay), the
user switching kits, and what a turn reports (versions, labels, files changed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests import authed
from tests.agent.test_build_turns import create_build
from tests.sse_client import send

CAPABLE = """A counter fits this; I'll start from that kit and make it about sheep.
<action name="start_from">
<kit>counter</kit>
</action>
=== turn ===
<action name="set_slot">
<slot>title</slot>
<value>Sheep counter</value>
</action>
<action name="edit_file">
<path>style.css</path>
<old_string>.counter {</old_string>
<new_string>.counter {
  border-width: 3px;</new_string>
</action>
=== turn ===
Done: a sheep counter.
=== turn ===
<action name="write_file">
<path>app.js</path>
<content><![CDATA[
console.log("same");
]]></content>
</action>
=== turn ===
<action name="write_file">
<path>app.js</path>
<content><![CDATA[
console.log("same");
]]></content>
</action>
=== turn ===
Nothing else to change.
"""


def _git_log(folder: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(folder), "log", "--format=%s"], capture_output=True, text=True
    )
    return out.stdout.splitlines()


def test_a_capable_model_starts_from_a_kit_then_edits_it(start_server, replay_file) -> None:
    server = start_server(replay_file(CAPABLE))
    conv = create_build(server.url)
    events = send(server.url, conv, "Count the sheep in my field")
    ends = [d for n, d in events if n == "action.end"]
    assert [e["name"] for e in ends] == ["start_from", "set_slot", "edit_file"]
    assert all(e["ok"] for e in ends), ends
    assert ends[0]["label"] == "Started from: Counter"
    assert ends[0]["kit"]["name"] == "counter"
    assert {"name": "blank", "title": "Blank project"} in ends[0]["kit"]["alternatives"]
    assert ends[1]["label"] == "Set title: “Sheep counter”"
    versions = [d for n, d in events if n == "version"]
    assert versions[0]["title"] == "Started from: Counter"
    final = versions[-1]
    assert sorted(final["added"]) == ["app.js", "index.html", "style.css", "theme.css"]
    assert final["changed"] == [] and final["removed"] == []

    folder = server.settings.data_dir / "workspaces" / conv
    assert "Sheep counter" in (folder / "index.html").read_text()
    assert _git_log(folder) == [
        "Count the sheep in my field",
        "Started from: Counter",
        "Empty project",
    ]

    # The turn's summary is kept with the message (a reloaded UI shows it).
    stored = authed.get(f"{server.url}/api/conversations/{conv}").json()["messages"][-1]
    assert stored["files"]["added"] == final["added"]
    assert stored["actions"][0]["kit"]["title"] == "Counter"

    # A CDATA-wrapped value is unwrapped; writing the same bytes again says "No changes".
    events = send(server.url, conv, "Log something")
    ends = [d for n, d in events if n == "action.end"]
    assert ends[0]["ok"] and ends[0]["label"] is None  # the chip's usual "Wrote app.js"
    assert ends[1]["ok"] and ends[1]["label"] == "No changes to app.js"
    assert (folder / "app.js").read_text() == 'console.log("same");'
    final = [d for n, d in events if n == "version"][-1]
    assert final["changed"] == ["app.js"] and final["added"] == final["removed"] == []


def test_the_user_can_switch_the_kit_and_a_bad_kit_is_refused(start_server, replay_file) -> None:
    server = start_server(replay_file("Here it is.\n=== turn ===\nDone.\n"))
    conv = create_build(server.url)
    bad = authed.post(
        f"{server.url}/api/conversations/{conv}/messages",
        json={"content": "a timer", "kit": "spaceship"},
    )
    assert bad.status_code == 422 and "no kit called 'spaceship'" in bad.json()["detail"]
    assert authed.get(f"{server.url}/api/conversations/{conv}").json()["messages"] == []

    events = send(server.url, conv, "a timer", kit="stopwatch")
    ends = [d for n, d in events if n == "action.end"]
    assert ends[0]["name"] == "start_from" and ends[0]["label"] == "Started from: Stopwatch"
    folder = server.settings.data_dir / "workspaces" / conv
    assert "kit: stopwatch" in (folder / "index.html").read_text()
