"""Saving a file edited by hand in the Code tab: PUT /api/conversations/{id}/files/{path}."""

from __future__ import annotations

import threading

from tests import authed
from tests.agent.test_build_turns import PAGE, create_build
from tests.sse_client import send


def _built(start_server, replay_file, script: str = PAGE) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    server = start_server(replay_file(script))
    conv = create_build(server.url)
    send(server.url, conv, "Make a counter page")
    return server.url, f"{server.url}/api/conversations/{conv}"


def test_a_hand_edit_is_saved_and_recorded_as_a_version(start_server, replay_file) -> None:
    _, base = _built(start_server, replay_file)
    got = authed.get(f"{base}/files/style.css")
    etag = got.headers["etag"]
    assert got.text == "h1 { color: tomato; }" and etag.startswith('"')
    before = authed.get(f"{base}/versions").json()["versions"]

    saved = authed.put(
        f"{base}/files/style.css", json={"text": "h1 { color: navy; }\n", "etag": etag}
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["path"] == "style.css" and body["status"] == "updated"
    assert body["version"]["message"] == "Edited style.css by hand"
    assert body["version"]["files_changed"] == ["style.css"]
    assert authed.get(f"{base}/files/style.css").text == "h1 { color: navy; }\n"
    assert authed.get(f"{base}/files/style.css").headers["etag"] == body["etag"] != etag
    after = authed.get(f"{base}/versions").json()["versions"]
    assert len(after) == len(before) + 1 and after[-1]["message"] == "Edited style.css by hand"

    # The same text again: nothing changed, so no version.
    again = authed.put(
        f"{base}/files/style.css", json={"text": "h1 { color: navy; }\n", "etag": body["etag"]}
    )
    assert again.status_code == 200 and again.json()["version"] is None
    assert again.json()["status"] == "unchanged"
    assert len(authed.get(f"{base}/versions").json()["versions"]) == len(after)


def test_a_stale_edit_is_refused_with_409(start_server, replay_file) -> None:
    _, base = _built(start_server, replay_file)
    etag = authed.get(f"{base}/files/style.css").headers["etag"]
    first = authed.put(f"{base}/files/style.css", json={"text": "h1 { color: red; }", "etag": etag})
    assert first.status_code == 200
    # A second tab still holding the first copy.
    stale = authed.put(
        f"{base}/files/style.css", json={"text": "h1 { color: lime; }", "etag": etag}
    )
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    assert authed.get(f"{base}/files/style.css").text == "h1 { color: red; }"
    # A new file: etag null; once it exists, null is stale too.
    new = authed.put(f"{base}/files/js/app.js", json={"text": "console.log(1);", "etag": None})
    assert new.status_code == 200 and new.json()["status"] == "created"
    assert new.json()["version"]["message"] == "Edited js/app.js by hand"
    assert (
        authed.put(f"{base}/files/js/app.js", json={"text": "x", "etag": None}).status_code == 409
    )
    # A file deleted since.
    gone = authed.put(f"{base}/files/nope.css", json={"text": "x", "etag": etag})
    assert gone.status_code == 409 and "deleted" in gone.json()["detail"]


def test_hand_edits_stay_in_the_project_and_within_the_limits(start_server, replay_file) -> None:
    url, base = _built(start_server, replay_file)
    for path in ("..%2F..%2Fgemma-chat.db", "..%2Fescape.txt", "%2Fetc%2Fpasswd", ".git/config"):
        answer = authed.put(f"{base}/files/{path}", json={"text": "x", "etag": None})
        assert answer.status_code in (400, 404), (path, answer.status_code)
    assert authed.put(f"{base}/files/a.txt", json={"etag": None}).status_code == 422  # no text
    assert authed.put(f"{base}/files/a.txt", json={"text": 5, "etag": None}).status_code == 422
    big = "x" * 2_000_001  # over Build's per-file limit
    answer = authed.put(f"{base}/files/big.txt", json={"text": big, "etag": None})
    assert answer.status_code == 413 and "limit" in answer.json()["detail"]
    unknown = authed.put(
        f"{url}/api/conversations/c_nope/files/a.txt", json={"text": "x", "etag": None}
    )
    assert unknown.status_code == 404
    names = [f["path"] for f in authed.get(f"{base}/files").json()["files"]]
    assert sorted(names) == ["index.html", "style.css"]  # nothing written anywhere


def test_a_hand_edit_waits_for_a_running_turn(start_server, replay_file) -> None:
    script = PAGE.replace("The second edit failed", "Slowly " * 400 + "the second edit failed")
    server = start_server(replay_file(script, tps=200))
    conv = create_build(server.url)
    base = f"{server.url}/api/conversations/{conv}"
    send(server.url, conv, "Make a counter page")
    etag = authed.get(f"{base}/files/style.css").headers["etag"]
    running = threading.Thread(target=send, args=(server.url, conv, "Go on"))
    running.start()
    try:
        for _ in range(200):
            if authed.get(f"{server.url}/api/conversations/{conv}").json().get("running"):
                break
        answer = authed.put(f"{base}/files/style.css", json={"text": "x", "etag": etag})
        assert answer.status_code == 409 and "wait for its reply" in answer.json()["detail"]
    finally:
        authed.post(f"{server.url}/api/conversations/{conv}/stop")
        running.join(30)
