"""Our WebSocket server protocol: uvicorn's default (websockets-sansio) with three additions.

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
3. Parking: once the app has set a connection up it may hand it over (`direct_park`) and let
   its ASGI call return. The peer's frames then go to the app's handler in a task that exists
   only while there is one to handle, so an idle connection holds no task, no coroutines and
   no handshake leftovers (request headers, the ASGI scope): most of what it used to cost.

Under another server (or Starlette's TestClient) the extension is absent and the app falls
back to plain ASGI. It relies on uvicorn internals (`writable` paused for slow readers,
`disconnected`, `queue`, `run_asgi`) as they are from 0.52.1 on: pyproject.toml allows the
range CI tests, lowest and newest.
"""

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, cast

from uvicorn._types import ASGIReceiveEvent, WebSocketScope
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT = "chat.direct"
SERVER = "chat.server"  # what chat.http tells the app about the server, in each HTTP scope
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, zero seconds: close() sends a reset

Handle = Callable[[Mapping[str, Any]], Awaitable[bool]]  # an ASGI receive event; False: done
End = Callable[[], Awaitable[None]]


def websocket_frame(text: str) -> bytes:
    """One unfragmented, unmasked text frame (what a server sends), ready for any socket."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Inbox:
    """The peer's events for the app: what uvicorn's per-connection `asyncio.Queue` does for it
    (one reader), without its four deques. Once the app has parked the connection, `wake` is
    called on each arrival instead."""

    __slots__ = ("events", "waiter", "wake")

    def __init__(self) -> None:
        self.events: list[ASGIReceiveEvent] = []
        self.waiter: asyncio.Future[None] | None = None
        self.wake: Callable[[], None] | None = None

    def put_nowait(self, event: ASGIReceiveEvent) -> None:
        self.events.append(event)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        if self.wake is not None:
            self.wake()

    def empty(self) -> bool:
        return not self.events

    async def get(self) -> ASGIReceiveEvent:
        while not self.events:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.events.pop(0)


class Gate:
    """Open or shut; `wait()` returns once it is open. What uvicorn's `writable` `asyncio.Event`
    does, without a deque of waiters per connection when nobody waits."""

    __slots__ = ("open", "waiters")

    def __init__(self) -> None:
        self.open = True
        self.waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self.open

    def set(self) -> None:
        self.open = True
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def clear(self) -> None:
        self.open = False

    async def wait(self) -> Literal[True]:
        if not self.open:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
        return True


class ChatWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol plus a direct write path, abort-on-stall and
    parking."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Gate()  # type: ignore[assignment]
        self.parked: tuple[Handle, End] | None = None
        self.serving = False  # a task is handling the parked connection's events

    @property
    def inbox(self) -> Inbox:
        return cast(Inbox, self.queue)

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

    async def direct_close(self, code: int, reason: str) -> None:
        """Start the closing handshake, as an ASGI `websocket.close` does."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason})

    def direct_abort(self) -> None:
        """Drop the connection now, buffered data and all (the page sees 1006 and reconnects)."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        self.transport.abort()

    def direct_park(self, handle: Handle, end: End) -> None:
        """Take the accepted connection over from the app, whose ASGI call may then return.

        Each event the peer sends (ASGI receive events, in order, one at a time) goes to
        `handle` until it returns False or fails; then `end` runs and the connection closes
        as if the app had returned. The handshake's leftovers are dropped here."""
        self.parked = (handle, end)
        # The handshake is over. websockets' parser holds on to the request (a local of its
        # generator) for as long as the connection lives: empty it.
        self.request.headers.clear()
        del self.request, self.response
        scope = self.scope
        self.scope = cast(
            WebSocketScope,
            {"type": "websocket", "client": scope["client"], "path": scope["path"]},
        )
        self.inbox.wake = self.wake
        if not self.inbox.empty():
            self.wake()

    def wake(self) -> None:
        """Something arrived for a parked connection: handle it (and what follows) in a task."""
        if self.parked is not None and not self.serving:
            self.serving = True
            task = self.loop.create_task(self.serve(*self.parked))
            self.tasks.add(task)  # a graceful shutdown waits for it, as for ASGI calls
            task.add_done_callback(self.tasks.discard)

    async def serve(self, handle: Handle, end: End) -> None:
        """Handle what has arrived, in order; once the app is done with the connection, end
        it as the end of an ASGI call would."""
        try:
            while not self.inbox.empty():
                if not await handle(await self.receive()):
                    break
            else:
                return  # all handled: no task until the peer sends again
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
        finally:
            self.serving = False
        self.parked = None
        try:
            await end()
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
        self.app_done()

    async def run_asgi(self) -> None:
        """uvicorn's, except that a connection the app has parked stays open."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.parked is None and self.close_timer is None:
            self.transport.close()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()  # no pong in time: the peer is gone or stopped reading
        self.direct_abort()

    def on_task_complete(self, task: asyncio.Task[None]) -> None:
        super().on_task_complete(task)
        if self.parked is None and not self.writable.is_set():
            self.direct_abort()  # the app is done, the peer never read what we sent

    def app_done(self) -> None:
        """What the end of an ASGI call does (`run_asgi`, `on_task_complete`), for a parked one."""
        if self.close_timer is None:
            self.transport.close()
        if not self.writable.is_set():
            self.direct_abort()
