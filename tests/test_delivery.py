"""What was stored is delivered: resends stored once, failed publishes and deliveries survived."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chat.app import create_app
from chat.config import Settings
from chat.errors import ChatError
from chat.services import Services
from tests.html import messages, one, parse
from tests.test_protocol import json_socket, until
from tests.test_ws import connect, open_room, receive_until, send


def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def stored_texts(client: TestClient, room: str = "lobby") -> list[str]:
    return [m["text"] for m in client.get(f"/rooms/{room}/messages.json").json()["messages"]]


def test_the_composer_numbers_its_draft_and_a_resent_draft_is_stored_once(
    client: TestClient,
) -> None:
    page = client.get("/")
    assert one(page.text, "#chat-form input[name=n]")["value"] == "1"
    session = str(one(page.text, "#chat-form input[name=session]")["value"])
    with connect(client, session) as ws:
        send(ws, "hello", n="1")
        frame = receive_until(ws, "form#chat-form")
        assert one(frame, "input[name=n]")["value"] == "2"
    # The answer was lost with the connection; the page sends the same draft again.
    with connect(client, session) as again:
        send(again, "hello", n="1")
        assert one(receive_until(again, "form#chat-form"), "input[name=n]")["value"] == "2"
        # Two drafts sent before the first answer came back carry the same number.
        send(again, "quick one", n="2")
        receive_until(again, "form#chat-form")
        send(again, "quick two", n="2")
        receive_until(again, "form#chat-form")
    assert stored_texts(client) == ["hello", "quick one", "quick two"]


def test_a_no_js_resend_is_stored_once(client: TestClient) -> None:
    session = open_room(client)
    for _ in range(2):
        posted = client.post(
            "/rooms/lobby/messages",
            data={"session": session, "message": "posted", "n": "1"},
            follow_redirects=False,
        )
        assert posted.status_code == 303
    assert stored_texts(client) == ["posted"]


@pytest.mark.parametrize("n", ["0", "-1", "x", "1.5", "99999999999", True, [1]])
def test_a_bad_draft_number_is_a_clear_error_and_nothing_is_stored(
    client: TestClient, n: object
) -> None:
    with connect(client, open_room(client)) as ws:
        send(ws, "numbered badly", n=n)
        frame = receive_until(ws, "#composer-error:-soup-contains('whole number')")
        assert "positive" in one(frame, "#composer-error").get_text()
    assert stored_texts(client) == []


def test_a_stored_message_is_sent_even_if_publishing_it_fails(client: TestClient) -> None:
    broker = services(client).broker
    publish = broker.publish
    failures = [ChatError("the broker hiccuped")]

    async def flaky(channel: str, event: dict[str, object]) -> None:
        if failures and event.get("type") == "message":
            raise failures.pop()
        await publish(channel, event)

    with connect(client, open_room(client)) as alice, connect(client, open_room(client)) as bob:
        receive_until(bob, "#members")
        broker.publish = flaky  # type: ignore[method-assign]
        send(alice, "stored, then the publish failed")
        frame = receive_until(alice, "form#chat-form, #composer-error:-soup-contains('not')")
        assert parse(frame).select("form#chat-form"), "the sender was told it was not sent"
        # Bob's page is resynchronised from the store; the retried event changes nothing.
        texts = [t for _, t in messages(receive_until(bob, "li[data-n]"))]
        assert texts == ["stored, then the publish failed"]
        send(alice, "and the next one")
        seen = [t for _, t in messages(receive_until(bob, "li[data-n]"))]
        assert seen == ["and the next one"]
    assert stored_texts(client) == ["stored, then the publish failed", "and the next one"]


def test_a_failing_delivery_is_skipped_and_the_next_messages_arrive(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = services(client)
    html = app.formats.of(app.languages.default)
    render = html.message

    def fragile(message, *rest):  # type: ignore[no-untyped-def]
        if message.text == "boom":
            raise RuntimeError("a template bug")
        return render(message, *rest)

    html.message = fragile  # type: ignore[method-assign]
    with connect(client, open_room(client)) as ws, json_socket(client) as reader:
        until(reader, "members")
        send(ws, "boom")
        receive_until(ws, "form#chat-form")  # stored and acknowledged all the same
        assert until(reader, "message")["text"] == "boom"  # other formats still get it
        send(ws, "after the bug")
        assert messages(receive_until(ws, "li[data-n]")) == [(2, "after the bug")]
        assert until(reader, "message")["text"] == "after the bug"
    assert "a template bug" in caplog.text


def test_sessions_unused_past_their_expiry_are_refused_and_deleted(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", session_expiry=1, session_ttl=5
    )
    with TestClient(create_app(settings)) as client:
        session = open_room(client)
        with connect(client, session) as ws:
            send(ws, "I was here")
            receive_until(ws, "form#chat-form")
        store = services(client).store

        async def row_gone() -> bool:
            return await store.load_session(key_of(client, session)) is None

        wait_for(client, row_gone)
        with connect(client, session) as late:
            assert "expired" in one(late.receive_text(), "#composer-error").get_text()


def key_of(client: TestClient, session: str) -> str:
    payload = services(client).sessions.signer.loads(session)
    return str(payload["k"])


def wait_for(client: TestClient, condition, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Poll an async condition on the app's own event loop until it holds."""
    import time

    deadline = time.monotonic() + timeout
    while not client.portal.call(condition):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_connect_and_close_cycles_leave_no_sessions_behind(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", session_ttl=3)
    with TestClient(create_app(settings)) as client:
        for _ in range(2000):
            with json_socket(client) as ws:
                until(ws, "welcome")
        db = services(client).store.db  # type: ignore[attr-defined]

        async def pruned() -> bool:
            [(rows,)] = db.execute("SELECT count(*) FROM sessions").fetchall()
            return bool(rows < 10)

        wait_for(client, pruned)
