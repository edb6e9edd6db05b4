"""Sessions: free to hand out, bounded, unforgeable, and durable once used."""

import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from chat.app import create_app
from chat.config import Settings
from tests.html import messages, one
from tests.test_ws import connect, open_room, receive_until, send


def stored_sessions(settings: Settings) -> int:
    path = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        count: int = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
        return count


def test_a_crawler_loading_pages_in_a_loop_stores_nothing(
    client: TestClient, settings: Settings
) -> None:
    for n in range(300):
        assert client.get(f"/rooms/crawl{n % 7}").status_code == 200
        assert client.head("/").status_code in (200, 405)
    assert len(client.app.state.services.sessions) == 0  # type: ignore[attr-defined]
    assert stored_sessions(settings) == 0


def test_a_used_session_is_stored_once(client: TestClient, settings: Settings) -> None:
    with connect(client, open_room(client)) as ws:
        send(ws, "hi")
        receive_until(ws, "li[data-n]")
    assert stored_sessions(settings) == 1


def test_an_old_page_that_was_never_used_has_expired(
    client: TestClient, settings: Settings
) -> None:
    secret = client.app.state.services.sessions.signer.secret_keys[-1]  # type: ignore[attr-defined]

    class HourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600

    old = URLSafeTimedSerializer(secret, salt="chat.session", signer=HourAgo)
    token = old.dumps({"r": "lobby", "k": "abc123", "n": "old", "b": "", "c": 0})
    with connect(client, str(token)) as ws:
        assert "expired" in one(ws.receive_text(), "#composer-error").get_text()
        assert ws.receive()["code"] == 1008


def test_a_used_session_keeps_its_numbering_across_a_restart(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}")
    with TestClient(create_app(settings)) as client:
        session = open_room(client)
        with connect(client, session) as ws:
            for text in ["one", "two"]:
                send(ws, text)
                receive_until(ws, "li[data-n]")
    with TestClient(create_app(settings)) as restarted:  # a new process, the same database
        with connect(restarted, session) as ws:
            send(ws, "three")
            assert messages(receive_until(ws, "li[data-n]:-soup-contains('three')"))[-1] == (
                3,
                "three",
            )


def test_connections_per_address_are_limited(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", max_connections_per_ip=2)
    with TestClient(create_app(settings)) as client:
        with connect(client, open_room(client)), connect(client, open_room(client)):
            with connect(client, open_room(client)) as third:
                assert "Too many" in one(third.receive_text(), "#composer-error").get_text()
                assert third.receive()["code"] == 1013  # temporary: pages retry later
        with connect(client, open_room(client)) as again:
            send(again, "room again")
            assert messages(receive_until(again, "li[data-n]")) == [(1, "room again")]


def test_the_rate_limit_says_slow_down(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", rate_burst=3, rate_per_second=0.01
    )
    with TestClient(create_app(settings)) as client, connect(client, open_room(client)) as ws:
        for n in range(3):
            send(ws, f"ok {n}")
            receive_until(ws, "li[data-n]")
        send(ws, "one too many")
        frame = receive_until(ws, "#composer-error:-soup-contains('Slow down')")
        assert "5 messages" not in frame and "bursts of 3" in frame
        assert len(client.get("/rooms/lobby/messages.json").json()["messages"]) == 3
