"""Our WebSocket server protocol: uvicorn's default (websockets-sansio) with two additions.

1. A direct write path, offered to the app in the ASGI scope as `extensions["chat.direct"]`.
   A message is rendered once and framed once; the same bytes are then written to every
   recipient's socket that can take them now. Sending through ASGI would encode and frame
   it again per recipient and wake a task per recipient: the direct path is most of what
   makes fan-out fast (see the README's figures).
2. A peer that stops reading is reset, not closed. A graceful close waits for our buffered
   data to drain, which never happens when nobody reads: the socket, its buffers and the
   app's state would linger for as long as the peer's TCP stack keeps acknowledging. Even
   an abort leaves the kernel delivering what it holds, and the peer never hears the end:
   with SO_LINGER at zero the close is a reset that frees everything at once (as nginx's
   `reset_timedout_connection` does).

Under another server (or Starlette's TestClient) the extension is absent and the app falls
back to plain ASGI sends. It relies on uvicorn internals (`writable` paused for slow readers,
`disconnected`) that first shipped in 0.52.1: pyproject.toml allows the range CI tests, lowest
and newest.
"""

import asyncio
import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT = "chat.direct"
SERVER = "chat.server"  # what chat.http tells the app about the server, in each HTTP scope
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, zero seconds: close() sends a reset


def websocket_frame(text: str) -> bytes:
    """One unfragmented, unmasked text frame (what a server sends), ready for any socket."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class ChatWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol plus a direct write path and abort-on-stall."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the app gets the scope only when upgrading
            self.scope["extensions"][DIRECT] = self  # type: ignore[assignment]

    def direct_open(self) -> bool:
        return self.handshake_complete and not self.close_sent and not self.disconnected

    def direct_ready(self) -> bool:
        """Open, and not holding back data for a slow reader (below the high-water mark)."""
        return self.direct_open() and self.writable.is_set() and not self.transport.is_closing()

    def direct_write(self, frame: bytes) -> None:
        """Write a frame made by `websocket_frame` (call only when `direct_ready()`)."""
        self.transport.write(frame)

    async def direct_drained(self) -> None:
        """Wait until the peer has read enough for us to write again."""
        await self.writable.wait()

    def direct_abort(self) -> None:
        """Drop the connection now, buffered data and all (the page sees 1006 and reconnects)."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        self.transport.abort()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()  # no pong in time: the peer is gone or stopped reading
        self.direct_abort()

    def on_task_complete(self, task: asyncio.Task[None]) -> None:
        super().on_task_complete(task)
        if not self.writable.is_set():  # the app is done, the peer never read what we sent
            self.direct_abort()
