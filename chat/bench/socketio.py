"""A simulated Socket.IO client (`chat bench --protocol socketio`), for peers that speak it.

Socket.IO v5 over Engine.IO v4 on a plain WebSocket (`/socket.io/?EIO=4&transport=websocket`,
no long-polling first, no permessage-deflate), as socket.io-client does with
`transports: ["websocket"]`. There is no page to load: the room is the last part of the room's
address, and the client passes it in its namespace CONNECT (`40{"room": ROOM}`). Messages go
out as `42["message",{"text": ...}]` events and come back as `42[...]` events; the markers
in them are reported like `Browser`'s (with message id 0: Socket.IO messages carry none).
"""

import asyncio
import json
import random
from time import perf_counter_ns
from urllib.parse import unquote, urlsplit, urlunsplit

from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport, ws_connect

from chat.bench.browsers import (
    LETTERS,
    READ_BUFFER,
    Browser,
    Page,
    Received,
    markers,
    socket_factory,
)

SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"
_EVENT = b"42"  # Engine.IO MESSAGE (4) carrying a Socket.IO EVENT (2)
_PING, _PONG = b"2", b"3"


def socketio_page(room_url: str) -> Page:
    """What a Socket.IO client of `http://HOST:PORT/rooms/ROOM` needs: its server's
    `/socket.io/` endpoint over a WebSocket (the room goes in the CONNECT packet)."""
    parts = urlsplit(room_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    socket_url = urlunsplit((scheme, parts.netloc, "", "", "")) + SOCKET_PATH
    return Page(
        url=room_url,
        socket_url=socket_url,
        form_id="",
        fields={"message": ""},
        protocol="socketio",
    )


class SocketIOBrowser(Browser):
    """One Socket.IO client in a room: a `Browser` whose frames are Socket.IO packets. `send`
    emits a marked message; every marker received is reported."""

    def __init__(self, index: int, page: Page, received: Received) -> None:
        super().__init__(index, page, received)
        self.room = unquote(urlsplit(page.room_url).path.rstrip("/").rsplit("/", 1)[-1])
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport  # no permessage-deflate: it was not offered

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.frames += 1
            now = perf_counter_ns()
            payload = frame.get_payload_as_bytes()
            if payload.startswith(_EVENT):
                for _, seq, sent in markers(payload):
                    self.received(self.index, seq, now - sent, 0)
            elif payload == _PING:
                transport.send(WSMsgType.TEXT, _PONG)
            else:
                self._control(transport, payload)
        elif frame.msg_type == WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.send_close(self.close_code or WSCloseCode.OK)
            transport.disconnect()

    def _control(self, transport: WSTransport, payload: bytes) -> None:
        """The rare packets: Engine.IO OPEN, the namespace's CONNECT ack or refusal, and the
        server's DISCONNECT or Engine.IO CLOSE."""
        if payload.startswith(b"0"):  # OPEN {"sid", "pingInterval", ...}: join the room
            connect = b"40" + json.dumps({"room": self.room}).encode()
            transport.send(WSMsgType.TEXT, connect)
        elif payload.startswith(b"40"):  # CONNECT ack {"sid": ...}: in the room
            self.first = self.first or perf_counter_ns()
            if not self.joined.done():
                self.joined.set_result(None)
        elif payload.startswith(b"44"):  # CONNECT_ERROR {"message": ...}
            if not self.joined.done():
                refused = payload[2:].decode(errors="replace")
                self.joined.set_exception(ConnectionRefusedError(refused))
            transport.disconnect()
        elif payload.startswith((b"41", b"1")):  # namespace DISCONNECT, Engine.IO CLOSE
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError("disconnected before joining the room"))
        self.closed.set()

    def send(self, seq: int, padding: int = 0) -> None:
        """Emit message `seq` as a `message` event, its text built like `Browser.send`'s."""
        text = f"bench ~{seq}~{perf_counter_ns()}~ " + "".join(random.choices(LETTERS, k=padding))
        payload = b'42["message",' + json.dumps({"text": text}).encode() + b"]"
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, payload)


async def open_socketio(
    index: int, page: Page, received: Received, *, stalled: bool = False
) -> SocketIOBrowser:
    """Open the Socket.IO socket (with the page's Origin, as a browser would) and return once
    the server has acknowledged the CONNECT, so the client is in its room; a stalled client
    has a small receive buffer and stops reading once it has joined."""
    _, browser = await ws_connect(
        lambda: SocketIOBrowser(index, page, received),
        page.socket_url,
        extra_headers={"Origin": page.origin},
        socket_factory=socket_factory(index, stalled=stalled),
        read_buffer_init_size=READ_BUFFER,
        websocket_handshake_timeout=30,
    )
    if not isinstance(browser, SocketIOBrowser):  # the server went away mid-handshake
        raise ConnectionError(f"{page.socket_url}: the WebSocket handshake did not complete")
    try:
        await asyncio.wait_for(browser.joined, timeout=30)
    except BaseException:
        browser.close()
        raise
    if stalled and browser.transport is not None:
        browser.transport.underlying_transport.pause_reading()
    return browser
