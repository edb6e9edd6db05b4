"""Request-head limits: oversized heads get 431, slow heads are cut off, nothing else is."""

import asyncio
import http.client
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from chat.http import SERVER, ChatHttpProtocol
from tests.clients import RawClient
from tests.servers import ChatServer, http_ok

LIMIT = 16_384  # the default CHAT_MAX_HEADER_SIZE
TIMEOUT = 1.0  # CHAT_HEADER_TIMEOUT for these servers, so that waiting for it is quick


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    workdir = tmp_path_factory.mktemp("limits")
    chat_server = ChatServer(workdir, CHAT_HEADER_TIMEOUT=str(TIMEOUT)).start()
    yield chat_server
    chat_server.stop()


def head(size: int, path: str = "/health", *extra: str) -> bytes:
    """A GET request head of exactly `size` bytes (padded with one long header)."""
    lines = [f"GET {path} HTTP/1.1", "Host: x", *extra]
    bare = len("\r\n".join(lines)) + len("\r\nX-Pad: \r\n\r\n")
    return "\r\n".join([*lines, "X-Pad: " + "a" * (size - bare), "", ""]).encode()


def raw(server: ChatServer, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as a close)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_head_at_the_limit_is_served_and_one_byte_more_is_refused(
    limited: ChatServer,
) -> None:
    with raw(limited) as sock:
        sock.sendall(head(LIMIT))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    with raw(limited) as sock:
        sock.sendall(head(LIMIT + 1))
        response = read_all(sock)
    assert status(response) == 431
    assert b"connection: close" in response.lower()
    assert response.endswith(b"Request header fields too large.")


def test_an_oversized_websocket_upgrade_is_refused(limited: ChatServer) -> None:
    upgrade = ("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13")
    with raw(limited) as sock:
        sock.sendall(head(LIMIT + 100, "/rooms/lobby/ws", *upgrade))
        assert status(read_all(sock)) == 431


def stream_huge_header(server: ChatServer, size: int = 20 * 2**20) -> bytes:
    """Send a head with a `size`-byte header in chunks until the server cuts us off."""
    with raw(server) as sock:
        chunk = b"a" * 65536
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            raise AssertionError("the server took a 20 MB header")
        return read_all(sock)


def test_huge_headers_are_cut_off_and_memory_stays_flat(limited: ChatServer) -> None:
    assert limited.process is not None
    process = psutil.Process(limited.process.pid)
    assert http_ok(limited.url + "/health")
    before = process.memory_info().rss
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: stream_huge_header(limited), range(10)))
    grown = process.memory_info().rss - before
    assert all(r == b"" or status(r) == 431 for r in responses), responses
    assert grown < 30 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"
    assert http_ok(limited.url + "/health")


def wait_for_close(sock: socket.socket) -> tuple[bytes, float]:
    """What the server sends before it closes, and how long it took to close."""
    started = time.monotonic()
    received = read_all(sock)
    return received, time.monotonic() - started


def test_a_slow_head_gets_408_after_the_timeout(limited: ChatServer) -> None:
    with raw(limited) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        received, waited = wait_for_close(sock)
    assert status(received) == 408
    assert TIMEOUT * 0.8 < waited < TIMEOUT + 3


def test_a_connection_that_sends_nothing_is_closed_silently(limited: ChatServer) -> None:
    with raw(limited) as sock:
        received, waited = wait_for_close(sock)
    assert received == b""
    assert TIMEOUT * 0.8 < waited < TIMEOUT + 3


def test_a_slow_follow_up_head_gets_408(limited: ChatServer) -> None:
    with raw(limited) as sock:
        sock.sendall(head(200))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        received, waited = wait_for_close(sock)
    assert status(received) == 408
    assert TIMEOUT * 0.8 < waited < TIMEOUT + 3


def test_keep_alive_requests_share_a_connection_past_the_head_timeout(
    limited: ChatServer,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=10)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and connection.sock is not None
        first = connection.sock
        time.sleep(TIMEOUT * 1.5)  # idle between requests is the keep-alive timeout's job
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and connection.sock is first
    finally:
        connection.close()


def test_a_large_body_sent_with_its_head_is_not_counted_as_head(limited: ChatServer) -> None:
    body = b"message=" + b"a" * 100_000 + b"&session=nope"
    with raw(limited) as sock:
        sock.sendall(
            b"POST /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        assert status(read_all(sock)) not in (408, 431)


def test_pipelined_requests_are_all_answered(limited: ChatServer) -> None:
    with raw(limited) as sock:
        sock.sendall(head(LIMIT - 10) * 2 + head(200, "/health", "Connection: close"))
        assert read_all(sock).count(b"HTTP/1.1 200 ") == 3


def test_a_slow_body_is_not_cut_off(limited: ChatServer) -> None:
    body = b"message=hi&session=nope"
    with raw(limited) as sock:
        sock.sendall(
            b"POST /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        )
        time.sleep(TIMEOUT * 2)  # the head timeout passes while the body is pending
        sock.sendall(body)
        response = read_all(sock)
    assert status(response) not in (408, 431)


def test_an_open_websocket_is_not_cut_off(limited: ChatServer) -> None:
    with RawClient(limited.url, "limits") as client:
        time.sleep(TIMEOUT * 2)  # the head timeout passes while the socket is open
        client.send_and_wait("still here")


@pytest.mark.parametrize(
    ("ws", "direct"),
    [("chat.sockets:ChatWebSocketProtocol", True), ("websockets-sansio", False), ("none", False)],
)
def test_requests_carry_a_description_of_the_server(ws: str, direct: bool) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps(scope["extensions"][SERVER]).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def ask() -> bytes:
        config = Config(app=app, ws=ws, lifespan="off", log_config=None)
        loop = asyncio.get_running_loop()
        state = ServerState()
        server = await loop.create_server(
            lambda: ChatHttpProtocol(config=config, server_state=state, app_state={}),
            "127.0.0.1",
            0,
        )
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return response

    body = asyncio.run(ask()).split(b"\r\n\r\n", 1)[1]
    assert json.loads(body) == {"direct_writes": direct, "max_header_size": LIMIT}


def test_a_client_that_leaves_mid_head_leaves_no_timer() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("no request should reach the app")

    async def leave() -> ChatHttpProtocol:
        config = Config(app=app, ws="none", lifespan="off", log_config=None)
        loop = asyncio.get_running_loop()
        made: list[ChatHttpProtocol] = []
        lost = asyncio.Event()

        class Watched(ChatHttpProtocol):
            def connection_lost(self, exc: Exception | None) -> None:
                super().connection_lost(exc)
                lost.set()

        def protocol() -> ChatHttpProtocol:
            made.append(Watched(config=config, server_state=ServerState(), app_state={}))
            return made[-1]

        server = await loop.create_server(protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        writer.close()
        await asyncio.wait_for(lost.wait(), 10)
        server.close()
        await server.wait_closed()
        return made[0]

    assert asyncio.run(leave()).head_timer is None
