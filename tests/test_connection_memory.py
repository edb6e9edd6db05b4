"""What an idle connection keeps under our server protocol: no task, no handshake leftovers.

Once a connection is caught up, the endpoint parks it with the server and its ASGI call ends;
the server hands the client's frames to the chat as they come. These tests run the app under
uvicorn with our protocol in the test's own event loop, so that its state can be looked at.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chat.app import create_app
from chat.config import Settings
from chat.services import Services
from chat.sockets import ChatWebSocketProtocol

pytestmark = pytest.mark.anyio
SUBPROTOCOL = "chat.v1.json"


@dataclass
class Served:
    server: uvicorn.Server
    services: Services
    url: str

    async def socket(self, room: str) -> ClientConnection:
        """A JSON client in `room`, caught up (its member list has come)."""
        ws = await connect(
            self.url.replace("http", "ws", 1) + f"/rooms/{room}/ws",
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers={"Origin": self.url},
            ping_interval=None,
        )
        await until(ws, "members")
        return ws

    def protocols(self) -> list[ChatWebSocketProtocol]:
        found = self.server.server_state.connections
        return [p for p in found if isinstance(p, ChatWebSocketProtocol)]


@contextlib.asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[Served]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http="chat.http:ChatHttpProtocol",
        ws="chat.sockets:ChatWebSocketProtocol",
        ws_per_message_deflate=False,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    try:
        await settled(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(server, app.state.services, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await running


async def settled(condition: Callable[[], bool]) -> None:
    """Poll until `condition()` holds (waiting for a state, not a timed sleep)."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


async def until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    for _ in range(20):
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind!r} event")


async def test_an_idle_connection_holds_no_task_and_no_handshake(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        sockets = [await served.socket("idle") for _ in range(20)]
        await settled(lambda: not served.server.server_state.tasks)
        connections = served.services.hub.rooms["idle"]
        assert len(connections) == 20
        assert all(c.writer is None and c.websocket is None for c in connections)
        for protocol in served.protocols():
            assert protocol.parked is not None
            assert "headers" not in protocol.scope and not hasattr(protocol, "request")
        for ws in sockets:
            await ws.close()
        await settled(lambda: not served.services.hub.rooms)


async def test_a_parked_connection_chats_and_leaves(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        alice, bob = await served.socket("parked"), await served.socket("parked")
        await settled(lambda: not served.server.server_state.tasks)
        await alice.send(json.dumps({"message": "hello"}))
        assert (await until(alice, "sent"))["n"] == 1
        assert (await until(bob, "message"))["text"] == "hello"
        await alice.send(b"\x00binary")
        assert (await until(alice, "error"))["code"] == "binary"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(alice.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
        hub = served.services.hub
        await settled(lambda: len(hub.rooms["parked"]) == 1)
        [left] = [c for c in hub.rooms["parked"]]
        await bob.send(json.dumps({"message": "still here"}))
        assert (await until(bob, "sent"))["n"] == 1
        assert left.session.connections == 1
        await bob.close()
        await settled(lambda: not hub.rooms and not served.server.server_state.tasks)
        assert left.session.connections == 0


async def test_stopping_the_server_ends_parked_connections_before_the_app(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as served:
        sockets = [await served.socket("stopping") for _ in range(3)]
        hub = served.services.hub
        sessions = {c.session for c in hub.rooms["stopping"]}
        served.server.should_exit = True
        for ws in sockets:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert not hub.rooms  # every connection left before the app shut down
    assert all(session.connections == 0 for session in sessions)
