"""The WebSocket flow through the real app: numbering, fragments, refusals."""

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.html import messages, one, parse


def open_room(client: TestClient, room: str = "lobby") -> str:
    """Load the page like a browser does; return the session id the page carries."""
    page = client.get("/" if room == "lobby" else f"/rooms/{room}")
    assert page.status_code == 200
    return str(one(page.text, "#chat-form input[name=session]")["value"])


def connect(
    client: TestClient, session: str, room: str = "lobby", origin: str | None = None
) -> Any:
    headers = {"origin": origin} if origin else {}
    return client.websocket_connect(f"/rooms/{room}/ws?session={session}", headers=headers)


def send(ws: Any, text: Any, **extra: Any) -> None:
    ws.send_text(json.dumps({"message": text, "HEADERS": {"HX-Request": "true"}, **extra}))


def receive_until(ws: Any, selector: str) -> str:
    """Read frames until one contains `selector` (skips heartbeats and presence)."""
    for _ in range(20):
        frame: str = ws.receive_text()
        if parse(frame).select(selector):
            return frame
    raise AssertionError(f"no frame with {selector}")


def test_messages_are_numbered_and_pushed_out_of_band(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session) as ws:
        for n, text in enumerate(["one", "two", "three"], start=1):
            send(ws, text)
            frame = receive_until(ws, "li[data-n]")
            # (your own arrival may come in the same frame, just before your first message)
            [oob] = [ol for ol in parse(frame).select("ol#messages") if ol.select("li[data-n]")]
            assert oob["hx-swap-oob"] == "beforeend"
            li = one(frame, "li[data-n]")
            assert li["data-n"] == str(n) and str(li["id"]).startswith("msg-")
            assert f"#{n}" in li.get_text() and messages(frame) == [(n, text)]


def test_the_sender_gets_an_empty_composer_back(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session) as ws:
        send(ws, "hello")
        frame = receive_until(ws, "form#chat-form")
        form = one(frame, "form#chat-form")
        assert form["hx-swap-oob"] == "true"
        field = one(frame, "input[name=message]")
        assert field.get("value") == "" and field.has_attr("autofocus")


def test_blank_messages_are_refused_visibly_and_not_numbered(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session) as ws:
        for blank in ["", "   ", "\n\t "]:
            send(ws, blank)
            error = one(
                receive_until(ws, "#composer-error:-soup-contains('empty')"), "#composer-error"
            )
            assert "empty" in error.get_text()
        send(ws, "real")
        assert messages(receive_until(ws, "li[data-n]")) == [(1, "real")]


def test_html_is_escaped_in_the_fragment(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session) as ws:
        send(ws, "<img src=x onerror=alert(1)>")
        frame = receive_until(ws, "li[data-n]")
        assert parse(frame).select("img") == []
        assert messages(frame) == [(1, "<img src=x onerror=alert(1)>")]


def test_a_new_page_load_numbers_from_one_again(client: TestClient) -> None:
    for _ in range(2):
        with connect(client, open_room(client)) as ws:
            send(ws, "hi")
            assert messages(receive_until(ws, "li[data-n]"))[0][0] == 1


def test_an_unknown_session_is_told_to_reload(client: TestClient) -> None:
    with connect(client, "forged") as ws:
        assert "Reload the page" in one(ws.receive_text(), "#composer-error").get_text()
        closing = ws.receive()
        assert closing["type"] == "websocket.close" and closing["code"] == 1008


def test_nobody_else_ever_receives_a_session_id(client: TestClient) -> None:
    alice, bob = open_room(client), open_room(client)
    with connect(client, alice) as alice_ws, connect(client, bob) as bob_ws:
        send(alice_ws, "hello")
        frames = [bob_ws.receive_text()]
        while not messages(frames[-1]):  # catch-up, presence, then the message
            frames.append(bob_ws.receive_text())
        assert not any(alice in f for f in frames)


def test_a_change_between_a_pages_render_and_its_socket_reaches_it_on_connecting(
    client: TestClient,
) -> None:
    writer = open_room(client, "later")
    with connect(client, writer, "later") as ws:
        for text in ("one", "two", "three"):
            send(ws, text)
            receive_until(ws, "form#chat-form")
    reader = open_room(client, "later")  # rendered with all three as they were
    first, second, _ = [str(li["id"]).removeprefix("msg-") for li in parse(
        client.get("/rooms/later").text).select("#messages li[data-n]")]  # fmt: skip
    origin = {"origin": "http://testserver"}
    assert client.post(f"/rooms/later/messages/{first}/edit", data={"text": "one!"}, headers=origin)
    assert client.post(
        f"/rooms/later/messages/{second}/reactions", data={"emoji": "🎉"}, headers=origin
    )
    with connect(client, reader, "later") as ws:
        frame = receive_until(ws, f"li#msg-{first}[hx-swap-oob]")  # the catch-up: one frame
    edited = one(frame, f"li#msg-{first}[hx-swap-oob]")
    assert edited.select_one(".text").get_text() == "one!" and edited.select_one(".edited")
    reacted = one(frame, f"li#msg-{second}[hx-swap-oob]")
    assert reacted.select_one(".reaction").get_text(" ", strip=True).startswith("🎉 1")
    assert len(parse(frame).select("li[hx-swap-oob]")) == 2  # only what changed
