"""Fault injection against real server processes: drops, kill -9, stalls, floods, outages."""

import base64
import contextlib
import os
import select
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.browsing import ChatPage, fresh_room
from tests.clients import RawClient
from tests.html import first, messages, one
from tests.proxy import FlakyProxy
from tests.servers import ChatServer, PostgresServer, http_ok, wait_until

# htmx retries with full jitter, up to 2^min(retry, 6) seconds apart: after an outage of ten
# seconds or so, its next try may be 30 s away, so wait past that for the page to come back.
RECONNECT_WAIT = 70_000

FAST = {"CHAT_RATE_PER_SECOND": "1000", "CHAT_RATE_BURST": "1000"}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ChatServer]:
    server = ChatServer(tmp_path, **FAST).start()
    yield server
    server.stop()


def status_label(page: ChatPage) -> str:
    return page.status()


@pytest.mark.browser
def test_a_dropped_network_resynchronises_the_page_exactly_once(
    own_server: ChatServer, context: Any
) -> None:
    room = fresh_room()
    proxy = FlakyProxy(own_server.port)
    try:
        page = ChatPage(context, proxy.url, room).open()
        page.send("before the drop")
        proxy.cut()
        page.wait_for_status("offline")
        with RawClient(own_server.url, room) as other:
            for text in ["missed 1", "missed 2", "missed 3"]:
                other.send_and_wait(text)
        page.page.fill("#chat-form input[name=message]", "typed while offline")
        page.page.press("#chat-form input[name=message]", "Enter")
        proxy.restore()
        page.page.wait_for_function(
            "() => [...document.querySelectorAll('#messages li .text')]"
            ".some(e => e.textContent === 'typed while offline')",
            timeout=RECONNECT_WAIT,
        )
        page.wait_for_status("online")  # at most a second after the page reconnected
        expected = ["before the drop", "missed 1", "missed 2", "missed 3", "typed while offline"]
        assert page.texts() == expected
        assert page.marked_mine() == [True, False, False, False, True]
        mine = [n for n, m in zip(page.numbers(), page.marked_mine(), strict=True) if m]
        assert mine == [1, 2]  # a reconnect is not a reload: the numbering goes on
        stored = _stored(own_server, room)
        assert [text for _, text in stored] == expected  # stored once, in order
    finally:
        proxy.close()


@pytest.mark.browser
def test_kill_9_and_restart_under_a_live_page(own_server: ChatServer, context: Any) -> None:
    room = fresh_room()
    page = ChatPage(context, own_server.url, room).open()
    page.send("one")
    page.send("two")
    own_server.kill()
    own_server.start()
    with RawClient(own_server.url, room) as other:
        other.send_and_wait("after the restart")
    page.wait_for_text("after the restart")
    page.wait_online()
    page.send("three")
    assert page.texts() == ["one", "two", "after the restart", "three"]
    assert page.numbers() == [1, 2, 1, 3]


def _stored(server: ChatServer, room: str) -> list[tuple[int, str]]:
    import json

    with urllib.request.urlopen(f"{server.url}/rooms/{room}/messages.json") as response:
        return [(m["n"], m["text"]) for m in json.load(response)["messages"]]


def _round_trip(client: RawClient, text: str) -> float:
    started = time.monotonic()
    client.send(text)
    while True:
        frame = client.receive_until("li[data-n]")
        if any(t == text for _, t in messages(frame)):
            return time.monotonic() - started


def test_a_flooding_client_is_slowed_down_and_others_keep_chatting(tmp_path: Path) -> None:
    server = ChatServer(tmp_path).start()  # default limits: bursts of 10, then 5 a second
    room = fresh_room()
    try:
        with RawClient(server.url, room) as flooder, RawClient(server.url, room) as calm:
            for n in range(300):
                flooder.send(f"flood {n}")
            slow_down = "#composer-error:-soup-contains('Slow down')"
            error = first(flooder.receive_until(slow_down), slow_down)
            assert "Slow down" in error.get_text()
            assert _round_trip(calm, "still here") < 1.0
            stored = [text for _, text in _stored(server, room)]
            assert "still here" in stored and len(stored) <= 21  # the bursts, not the flood
    finally:
        server.stop()


def test_a_stalled_reader_is_cut_off_and_nobody_else_waits(tmp_path: Path) -> None:
    server = ChatServer(tmp_path, CHAT_SEND_QUEUE_SIZE="16", **FAST).start()
    room = fresh_room()
    try:
        staller_page = RawClient(server.url, room)
        staller_page.ws.close()
        with (
            _stalled_reader(server, room, staller_page.session),
            RawClient(server.url, room) as sender,
            RawClient(server.url, room) as calm,
        ):
            wait_until(lambda: _connections(server) == 3, what="three connections")
            big = "x" * 1900
            worst = 0.0
            for n in range(5000):  # enough to fill the kernel's buffers (up to 4 MB) and ours
                sender.send_and_wait(f"{n} {big}")
                if n % 100 == 0:
                    worst = max(worst, _round_trip(calm, f"ping {n}"))
                if _connections(server) == 2:
                    break
            assert _connections(server) == 2, "the stalled reader was never disconnected"
            assert worst < 1.0
            assert _round_trip(calm, "after the cut") < 1.0
    finally:
        server.stop()


@contextlib.contextmanager
def _stalled_reader(server: ChatServer, room: str, session: str) -> Iterator[socket.socket]:
    """A WebSocket client that completes the handshake and then never reads a byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /rooms/{room}/ws?session={session} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Origin: {server.url}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    try:
        yield sock
    finally:
        sock.close()


def test_a_client_that_stops_reading_is_reset_after_an_unanswered_ping(tmp_path: Path) -> None:
    server = ChatServer(tmp_path, CHAT_PING_INTERVAL="1").start()
    room = fresh_room()
    try:
        page = RawClient(server.url, room)
        page.ws.close()
        with _stalled_reader(server, room, page.session) as sock:
            wait_until(lambda: _connections(server) == 1, what="the stalled client connected")
            gone = select.poll()
            gone.register(sock, select.POLLHUP | select.POLLERR | select.POLLRDHUP)
            wait_until(lambda: bool(gone.poll(0)), timeout=15, what="the reset")
            wait_until(lambda: _connections(server) == 0, what="the server to let go of it")
            with pytest.raises(ConnectionResetError):
                while sock.recv(65536):  # what it never read is discarded, then the reset
                    continue
    finally:
        server.stop()


def _connections(server: ChatServer) -> int:
    import json

    with urllib.request.urlopen(server.url + "/ws-info") as response:
        total: int = json.load(response)["total"]
        return total


def test_sigterm_closes_sockets_so_pages_reconnect_and_exits_quickly(
    own_server: ChatServer,
) -> None:
    client = RawClient(own_server.url, fresh_room())
    client.receive_until("#members")
    started = time.monotonic()
    own_server.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            client.ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # htmx reconnects
    own_server.process.wait(10)  # type: ignore[union-attr]
    assert time.monotonic() - started < 10


def test_session_ids_never_reach_the_log(own_server: ChatServer) -> None:
    with RawClient(own_server.url, fresh_room()) as client:
        client.send_and_wait("hello")
        session = client.session
    own_server.stop()
    log = own_server.log()
    assert "WebSocket" in log and "session=[redacted]" in log
    assert session not in log and session[:20] not in log


@pytest.mark.postgres
def test_a_database_outage_is_reported_and_chat_recovers(tmp_path: Path) -> None:
    database = PostgresServer().start()
    server = ChatServer(tmp_path, CHAT_DATABASE_URL=database.url).start()
    room = fresh_room()
    try:
        with RawClient(server.url, room) as alice, RawClient(server.url, room) as bob:
            alice.send("before")
            assert messages(bob.receive_until("li[data-n]")) == [(1, "before")]
            database.stop()
            alice.send("during")
            error = one(
                alice.receive_until("#composer-error:-soup-contains('not')"), "#composer-error"
            )
            assert "could not be saved" in error.get_text()
            assert not http_ok(server.url + "/health")
            database.start()
            wait_until(lambda: http_ok(server.url + "/health"), what="health after the outage")
            alice.send("after")
            assert messages(bob.receive_until("li[data-n]")) == [(2, "after")]
        assert _stored(server, room) == [(1, "before"), (2, "after")]
    finally:
        server.stop()
        database.stop()
        database.remove()


def test_an_oversize_frame_closes_only_that_connection_with_1009(own_server: ChatServer) -> None:
    room = fresh_room()
    with RawClient(own_server.url, room) as big, RawClient(own_server.url, room) as other:
        big.receive_until("#members")
        big.ws.send('{"message": "' + "x" * 20_000 + '"}')
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                big.ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        other.send_and_wait("unaffected")
    assert _stored(own_server, room) == [(1, "unaffected")]
