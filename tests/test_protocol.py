"""The JSON protocol (`chat.v1.json`) through the real app, and the README's examples of it."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.html import messages
from tests.test_bad_input import BAD_FRAMES
from tests.test_ws import connect, open_room, receive_until, send

README = Path(__file__).resolve().parent.parent / "README.md"
SUBPROTOCOL = "chat.v1.json"
# Differ on every run: compare types only.
VOLATILE = {"session", "key", "author_key", "owner", "owners", "id", "time", "edited"}


def documented() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The README's command and event examples, in the order they are written."""
    section = README.read_text().split("### JSON over the same WebSocket")[1].split("\n## ")[0]
    commands, events = section.split("**Events**")
    blocks = re.compile(r"```json\n(.*?)\n```", re.S)
    return (
        [json.loads(b) for b in blocks.findall(commands)],
        [json.loads(b) for b in blocks.findall(events)],
    )


def json_socket(client: TestClient, room: str = "lobby", **query: str) -> Any:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return client.websocket_connect(f"/rooms/{room}/ws?{params}", subprotocols=[SUBPROTOCOL])


def receive(ws: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(ws.receive_text())
    return event


def until(ws: Any, kind: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Read events until one of type `kind` (keeping every event read in `seen`)."""
    for _ in range(20):
        event = receive(ws)
        if seen is not None:
            seen.append(event)
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind!r} event")


REPLIES = {"sent", "named", "older", "done", "error"}  # one of them answers each command


def alike(documented: Any, actual: Any, key: str = "") -> bool:
    """Equal, except that fields that differ on every run need only have the same type."""
    if key in VOLATILE:
        return type(documented) is type(actual)
    if isinstance(documented, dict) and isinstance(actual, dict):
        return documented.keys() == actual.keys() and all(
            alike(documented[k], actual[k], k) for k in documented
        )
    if isinstance(documented, list) and isinstance(actual, list):
        return len(documented) == len(actual) and all(
            alike(d, a) for d, a in zip(documented, actual, strict=True)
        )
    return bool(documented == actual)


def test_the_documented_examples_are_what_the_server_sends(client: TestClient) -> None:
    commands, examples = documented()
    message_command, rename_command, older_command, *changes = commands
    assert [c["type"] for c in changes] == ["edit", "delete", "react"]
    edit_command, delete_command, react_command = changes
    seen: list[dict[str, Any]] = []
    with json_socket(client, name="bob") as bob:
        until(bob, "join", seen)
        bob.send_text(json.dumps({"type": "message", "message": "hi"}))
        until(bob, "sent", seen)
        with json_socket(client, name="ann") as ann:
            until(ann, "join", seen)
            ann.send_text(json.dumps(message_command))
            until(ann, "sent", seen)
            ann.send_text(json.dumps(rename_command))
            until(ann, "named", seen)
            ann.send_text(json.dumps(older_command))
            until(ann, "older", seen)
            for command in (edit_command, react_command, delete_command):
                ann.send_text(json.dumps(command))
                until(ann, "done", seen)
            ann.send_text(json.dumps({"type": "message", "message": " "}))
            until(ann, "error", seen)
        until(bob, "leave", seen)
    kinds = {e["type"] for e in examples}
    assert kinds == {e["type"] for e in seen}, "every event the server sent is documented"
    for example in examples:
        same_type = [e for e in seen if e["type"] == example["type"]]
        assert any(alike(example, e) for e in same_type), (example, same_type)


def test_every_command_gets_exactly_one_reply_in_order(client: TestClient) -> None:
    with json_socket(client, name="cleo") as ws:
        until(ws, "join")
        frames: list[str | dict[str, Any]] = [
            {"type": "message", "message": "one"},
            {"type": "message", "message": ""},
            {"type": "rename", "name": "Cleo"},
            "not json",
            {"type": "message", "message": "two"},
            {"type": "edit", "id": 1, "text": "one!"},
            {"type": "edit", "id": 1, "text": ""},
            {"type": "react", "id": 2, "emoji": "🎉"},
            {"type": "react", "id": 2, "emoji": "🙃"},
            {"type": "older", "before": 2},
            {"type": "delete", "id": 2},
            {"type": "delete", "id": 2},
            {"type": "delete", "id": "two"},
            {"type": "edit", "id": 99, "text": "x"},
            {"type": "react", "id": 1},
        ]
        for frame in frames:
            ws.send_text(frame if isinstance(frame, str) else json.dumps(frame))
        replies = []
        while len(replies) < len(frames):
            event = receive(ws)
            if event["type"] in REPLIES:
                replies.append(event)
        ws.send_text(json.dumps({"type": "message", "message": "last"}))
        assert until(ws, "sent")["n"] == 3  # refusals used up no numbers
    said = [r["type"] if r["type"] != "error" else r["code"] for r in replies]
    assert said == [
        *("sent", "empty", "named", "invalid_json", "sent"),
        *("done", "empty", "done", "invalid_reaction", "older"),
        *("done", "deleted", "invalid_id", "unknown_message", "invalid_react"),
    ]
    assert [replies[0]["n"], replies[4]["n"]] == [1, 2]
    assert [(r["change"], r["id"]) for r in replies if r["type"] == "done"] == [
        ("edit", 1),
        ("react", 2),
        ("delete", 2),
    ]


@pytest.mark.parametrize(("case", "frame", "says"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_frames_get_a_json_error_with_a_code(
    client: TestClient, case: str, frame: str, says: str
) -> None:
    with json_socket(client) as ws:
        until(ws, "join")
        ws.send_text(frame)
        error = until(ws, "error")
        assert says in error["message"] and re.fullmatch(r"[a-z_]+", error["code"]), case
        ws.send_text(json.dumps({"message": "still fine"}))
        assert until(ws, "sent")["n"] == 1
    assert [m["text"] for m in client.get("/rooms/lobby/messages.json").json()["messages"]] == [
        "still fine"
    ]


def test_resuming_a_session_keeps_its_numbering(client: TestClient) -> None:
    with json_socket(client, name="dora") as ws:
        session = until(ws, "welcome")["session"]
        for text in ("one", "two"):
            ws.send_text(json.dumps({"message": text}))
            until(ws, "sent")
    with json_socket(client, session=session) as ws:
        welcome = receive(ws)
        assert (welcome["type"], welcome["name"], welcome["seq"]) == ("welcome", "dora", 2)
        assert [m["text"] for m in until(ws, "history")["messages"]] == ["one", "two"]
        ws.send_text(json.dumps({"message": "three"}))
        assert until(ws, "sent")["n"] == 3


def test_a_taken_name_gets_a_generated_one(client: TestClient) -> None:
    with json_socket(client, name="eve") as first, json_socket(client, name="EVE") as second:
        assert receive(first)["name"] == "eve"
        assert re.fullmatch(r"user_[a-z0-9]{8}", receive(second)["name"])


def test_refusals_are_json_and_close_with_1008(client: TestClient) -> None:
    for path, code, says in [
        ("/rooms/no%20spaces/ws", "invalid_room", "letters (of any alphabet), digits"),
        ("/rooms/lobby/ws?session=forged", "unknown_session", "Reload the page"),
    ]:
        with client.websocket_connect(path, subprotocols=[SUBPROTOCOL]) as ws:
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", code) and says in error["message"]
            assert ws.receive()["code"] == 1008


def test_the_rate_limit_is_the_browsers(tmp_path: Path) -> None:
    from chat.app import create_app
    from chat.config import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", rate_burst=2)
    with TestClient(create_app(settings)) as client, json_socket(client) as ws:
        until(ws, "join")
        codes = []
        for n in range(3):
            ws.send_text(json.dumps({"message": f"m{n}"}))
            reply = receive(ws)
            while reply["type"] not in {"sent", "error"}:
                reply = receive(ws)
            codes.append(reply.get("code", reply["type"]))
    assert codes == ["sent", "sent", "rate_limited"]


def test_pages_get_html_and_programs_get_json_in_the_same_room(client: TestClient) -> None:
    with connect(client, open_room(client)) as page, json_socket(client) as program:
        until(program, "join")
        send(page, "from the page")
        assert until(program, "message")["text"] == "from the page"
        program.send_text(json.dumps({"message": "from a program"}))
        assert messages(receive_until(page, "li[data-n]:-soup-contains('program')")) == [
            (1, "from a program")
        ]
