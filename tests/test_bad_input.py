"""Every kind of bad input gets a clear error to that client; nothing is stored; nobody else sees it."""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.changes import message_number
from chat.errors import InvalidInput
from chat.frames import Change, Older, Rename, SendMessage, parse_frame
from chat.inputs import message_text
from tests.html import messages, one
from tests.test_ws import connect, open_room, receive_until, send

TOO_LONG = "x" * 2001
BAD_FRAMES = [
    ("not JSON", "hello", "not JSON"),
    ("JSON but not an object", "[1, 2]", "JSON object"),
    ("a JSON string", '"hi"', "JSON object"),
    ("missing message", json.dumps({"HEADERS": {}}), "missing"),
    ("message is a number", json.dumps({"message": 5}), "must be text"),
    ("message is null", json.dumps({"message": None}), "must be text"),
    ("message is a list", json.dumps({"message": ["a"]}), "must be text"),
    ("unknown field", json.dumps({"message": "hi", "admin": True}), "Unknown field"),
    ("unknown type", json.dumps({"type": "shout", "message": "hi"}), "Unknown type"),
    ("HEADERS not an object", json.dumps({"message": "hi", "HEADERS": "x"}), "HEADERS"),
    ("empty", json.dumps({"message": ""}), "empty"),
    ("whitespace", json.dumps({"message": " \n\t "}), "empty"),
    ("NUL", json.dumps({"message": "a\x00b"}), "control characters"),
    ("bell", json.dumps({"message": "ding\x07"}), "control characters"),
    ("escape sequence", json.dumps({"message": "\x1b[31mred"}), "control characters"),
    ("lone surrogate", '{"message": "\\ud800"}', "control characters"),
    ("too long", json.dumps({"message": TOO_LONG}), "the limit is 2,000"),
    ("edit without text", json.dumps({"type": "edit", "id": 1}), "That change is"),
    ("delete with text", json.dumps({"type": "delete", "id": 1, "text": "x"}), "That change is"),
    ("react without id", json.dumps({"type": "react", "emoji": "👍"}), "That change is"),
    ("id not a number", json.dumps({"type": "delete", "id": "one"}), "positive whole number"),
    ("id negative", json.dumps({"type": "delete", "id": -1}), "positive whole number"),
    ("id a float", json.dumps({"type": "delete", "id": 1.0}), "positive whole number"),
    ("id true", json.dumps({"type": "delete", "id": True}), "positive whole number"),
    ("id huge", json.dumps({"type": "delete", "id": 2**63}), "positive whole number"),
    ("unknown message", json.dumps({"type": "delete", "id": 7}), "no message 7"),
    ("unknown emoji", json.dumps({"type": "react", "id": 1, "emoji": "🙃"}), "reactions offered"),
]


@pytest.mark.parametrize(("case", "frame", "says"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_a_bad_frame_gets_a_clear_error_and_changes_nothing(
    client: TestClient, case: str, frame: str, says: str
) -> None:
    sender, other = open_room(client), open_room(client)
    with connect(client, sender) as bad, connect(client, other) as bystander:
        receive_until(bad, "#members")
        bad.send_text(frame)
        error = one(receive_until(bad, "#composer-error"), "#composer-error").get_text()
        assert says in error, case
        send(bad, "still fine")  # the connection survives, numbering was not used up
        assert messages(receive_until(bad, "li[data-n]")) == [(1, "still fine")]
        assert messages(receive_until(bystander, "li[data-n]")) == [(1, "still fine")]
    stored = client.get("/rooms/lobby/messages.json").json()["messages"]
    assert [m["text"] for m in stored] == ["still fine"]


def test_html_and_script_are_stored_verbatim_and_shown_as_text(client: TestClient) -> None:
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    with connect(client, open_room(client)) as ws:
        send(ws, payload)
        assert messages(receive_until(ws, "li[data-n]")) == [(1, payload)]
    page = client.get("/").text
    assert messages(page) == [(1, payload)]
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_a_binary_frame_is_refused_with_1003(client: TestClient) -> None:
    with connect(client, open_room(client)) as ws:
        receive_until(ws, "#members")
        ws.send_bytes(b'{"message": "hi"}')
        assert (
            "Binary frames"
            in one(receive_until(ws, "#composer-error"), "#composer-error").get_text()
        )
        assert ws.receive()["code"] == 1003
    assert client.get("/rooms/lobby/messages.json").json()["messages"] == []


@pytest.mark.parametrize(
    ("path", "headers", "says"),
    [
        ("/rooms/lobby/ws?session=forged", {}, "Reload the page"),
        ("/rooms/lobby/ws", {}, "Reload the page"),
        ("/rooms/bad%20room/ws?session=x", {}, "letters (of any alphabet), digits"),
    ],
)
def test_a_refused_handshake_explains_and_closes_with_1008(
    client: TestClient, path: str, headers: dict[str, str], says: str
) -> None:
    with client.websocket_connect(path, headers=headers) as ws:
        assert says in one(ws.receive_text(), "#composer-error").get_text()
        assert ws.receive()["code"] == 1008


def test_another_rooms_session_is_refused(client: TestClient) -> None:
    session = open_room(client, "elsewhere")
    with client.websocket_connect(f"/rooms/lobby/ws?session={session}") as ws:
        assert "Reload the page" in one(ws.receive_text(), "#composer-error").get_text()
        assert ws.receive()["code"] == 1008


def test_a_cross_site_handshake_is_refused(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session, origin="https://evil.example") as ws:
        assert "not the address" in one(ws.receive_text(), "#composer-error").get_text()
        assert ws.receive()["code"] == 1008


def test_an_allowed_origin_may_connect(tmp_path: object) -> None:
    from chat.app import create_app
    from chat.config import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/c.db", allowed_origins=["https://ok.example"]
    )
    with TestClient(create_app(settings)) as client:
        with connect(client, open_room(client), origin="https://ok.example") as ws:
            send(ws, "hi")
            assert messages(receive_until(ws, "li[data-n]")) == [(1, "hi")]


@hypothesis_settings(deadline=None)  # a loaded machine is not a failure
@given(st.text(max_size=300))
def test_the_frame_parser_never_fails_unexpectedly_on_any_text(raw: str) -> None:
    try:
        command = parse_frame(raw)
    except InvalidInput as error:
        assert error.message and error.code
    else:
        assert isinstance(command, SendMessage | Rename | Older | Change)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@hypothesis_settings(deadline=None)  # a loaded machine is not a failure
@given(
    st.dictionaries(st.sampled_from(["message", "type", "HEADERS", "session", "x"]), json_values)
)
def test_the_frame_parser_and_validation_accept_only_clean_text(data: dict[str, object]) -> None:
    try:
        text = message_text(parse_frame(json.dumps(data)).text, 2000)
    except InvalidInput as error:
        assert error.message
    else:
        assert isinstance(text, str) and text.strip() == text and 0 < len(text) <= 2000
        assert set(data) <= {"message", "type", "HEADERS", "session"}


@hypothesis_settings(deadline=None)  # a loaded machine is not a failure
@given(
    st.sampled_from(["edit", "delete", "react"]),
    st.dictionaries(st.sampled_from(["id", "text", "emoji", "x"]), json_values),
)
def test_change_frames_are_exact_and_their_ids_whole_numbers(
    kind: str, data: dict[str, object]
) -> None:
    try:
        command = parse_frame(json.dumps({"type": kind, **data}))
        number = message_number(command.id) if isinstance(command, Change) else None
    except InvalidInput as error:
        assert error.message and error.code.startswith("invalid_")
    else:
        assert isinstance(command, Change) and command.kind == kind
        assert isinstance(number, int) and 0 < number < 2**63
        assert {"type", *data} == {"type", "id", {"edit": "text", "react": "emoji"}.get(kind, "id")}
