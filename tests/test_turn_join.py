"""GET /api/conversations/{id}/turn/events: a client that did not start the running turn
(a page reloaded mid-reply, a second tab) joins it: every event so far, then live ones,
the same events the sender gets, none twice."""

from __future__ import annotations

import threading

import httpx

from tests import authed
from tests.sse_client import iter_sse

STORY = " ".join(f"w{i}" for i in range(80)) + " END"


def collect(server, conv_id: str, sink: list, **params) -> None:  # type: ignore[no-untyped-def]
    url = f"{server.url}/api/conversations/{conv_id}/turn/events"
    with authed.Client(timeout=30) as client, client.stream("GET", url, params=params) as res:
        assert res.status_code == 200, res.read()
        assert res.headers["content-type"].startswith("text/event-stream")
        sink.extend(iter_sse(res))


def test_joining_a_running_turn_gets_its_events_from_the_start_or_after_n(
    start_server, replay_file
) -> None:
    server = start_server(replay_file(STORY, tps=100))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    sent: list = []
    seen = threading.Event()

    def send() -> None:
        url = f"{api}/{conv['id']}/messages"
        with (
            authed.Client(timeout=30) as client,
            client.stream("POST", url, json={"content": "Go"}) as res,
        ):
            for event in iter_sse(res):
                sent.append(event)
                if len(sent) == 5:
                    seen.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert seen.wait(20)
    assert authed.get(f"{api}/{conv['id']}").json()["running"] is True
    whole: list = []
    rest: list = []
    joiners = [
        threading.Thread(target=collect, args=(server, conv["id"], whole)),
        threading.Thread(target=collect, args=(server, conv["id"], rest), kwargs={"after": 3}),
    ]
    for joiner in joiners:
        joiner.start()
    for thread in (sender, *joiners):
        thread.join(30)
    assert sent[-1][0] == "turn.end" and sent[-1][1]["reason"] == "stop"
    assert whole == sent  # the same events in the same order, none twice
    assert rest == sent[3:]
    text = "".join(d["text"] for name, d in whole if name == "text")
    assert text == STORY
    assert whole[0][1]["assistant_message_id"] == sent[0][1]["assistant_message_id"]


def test_no_running_turn_is_a_404_and_bad_parameters_a_422(start_server, replay_file) -> None:
    server = start_server(replay_file("Short."))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    answer = authed.get(f"{api}/{conv['id']}/turn/events")
    assert answer.status_code == 404
    assert "No reply is being generated" in answer.json()["detail"]
    assert authed.get(f"{api}/c_missing/turn/events").status_code == 404
    assert authed.get(f"{api}/{conv['id']}/turn/events?after=-1").status_code == 422
    assert authed.get(f"{api}/{conv['id']}/turn/events?after=x").status_code == 422
    # Without the token, nothing.
    assert httpx.get(f"{api}/{conv['id']}/turn/events").status_code == 401


def test_a_joiner_for_another_turn_is_refused(start_server, replay_file) -> None:
    server = start_server(replay_file(STORY, tps=50))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    url = f"{api}/{conv['id']}/messages"
    with (
        authed.Client(timeout=30) as client,
        client.stream("POST", url, json={"content": "Go"}) as res,
    ):
        start = next(iter_sse(res))
        assert start[0] == "turn.start"
        other = authed.get(f"{api}/{conv['id']}/turn/events?turn=t_other")
        assert other.status_code == 404
        joined: list = []
        joiner = threading.Thread(
            target=collect,
            args=(server, conv["id"], joined),
            kwargs={"turn": start[1]["turn_id"], "after": 1},
        )
        joiner.start()
        for _ in range(400):
            if joined:
                break
            threading.Event().wait(0.05)
        authed.post(f"{api}/{conv['id']}/stop")
        joiner.join(30)
    assert joined[-1][0] == "turn.end" and joined[-1][1]["reason"] == "cancelled"
    assert not [e for e in joined if e[0] == "turn.start"]
