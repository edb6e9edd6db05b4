"""One open WebSocket, and how frames reach it without ever making anyone else wait."""

import asyncio
import contextlib
import logging
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chat.formats import Format
from chat.limits import TokenBucket
from chat.sessions import Session
from chat.sockets import End, Handle, websocket_frame

log = logging.getLogger(__name__)
TRY_AGAIN_LATER = 1013


class Direct(Protocol):
    """The server's direct write path (`chat.sockets`), when it offers one."""

    def direct_ready(self) -> bool: ...

    def direct_open(self) -> bool: ...

    def direct_write(self, frame: bytes) -> None: ...

    async def direct_drained(self) -> None: ...

    async def direct_close(self, code: int, reason: str) -> None: ...

    def direct_abort(self) -> None: ...

    def direct_park(self, handle: Handle, end: End) -> None: ...


class Outbox:
    """Frames written during one turn of the event loop leave at its end, one system call per
    socket: a burst of messages costs each socket one write, not one per message (the write
    is most of what a delivery costs)."""

    __slots__ = ("dirty",)

    def __init__(self) -> None:
        self.dirty: list[Connection] = []

    def add(self, connection: "Connection") -> None:
        if not self.dirty:
            asyncio.get_running_loop().call_soon(self.flush)
        self.dirty.append(connection)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for connection in dirty:
            connection.flush()


class Connection:
    """Frames go straight to the socket when it can take them now. Otherwise (the client is
    still being caught up, or reads slower than we write) they wait, in order, in a bounded
    queue that a writer task drains; a client that falls `limit` frames behind is cut off
    and reconnects to catch up. Nobody else ever waits for it. Without the direct path,
    frames go through ASGI (`websocket`); with it, the ASGI objects are not kept (they hold
    the handshake's scope)."""

    __slots__ = (
        "address",
        "bucket",
        "direct",
        "floor",
        "format",
        "limit",
        "live",
        "out",
        "outbox",
        "overflowed",
        "pending",
        "session",
        "websocket",
        "writer",
    )

    def __init__(
        self,
        websocket: WebSocket,
        session: Session,
        limit: int,
        bucket: TokenBucket,
        address: str,
        format: Format,
        direct: Direct | None,
        outbox: Outbox,
    ) -> None:
        self.websocket = websocket if direct is None else None
        self.session = session
        self.format = format
        self.bucket = bucket
        self.address = address
        self.direct = direct
        self.outbox = outbox
        self.out: list[bytes] = []  # framed, waiting for the end of this turn of the loop
        self.limit = limit
        self.pending: list[tuple[int, str]] = []  # (a deque costs 760 bytes, even empty)
        self.floor = 0  # the newest message id the client has (or is being) sent
        self.live = False
        self.overflowed = False
        self.writer: asyncio.Task[None] | None = None

    def push(self, frame: str, message_id: int = 0, framed: bytes | None = None) -> None:
        """Send `frame` now if the socket takes it, else queue it; never waits. `framed` is
        the same frame already encoded by `websocket_frame` (one encoding for many sockets)."""
        if self.overflowed:
            return
        direct = self.direct
        if self.live and not self.pending and direct is not None and direct.direct_ready():
            if message_id:
                if message_id <= self.floor:
                    return
                self.floor = message_id
            self._write(framed or websocket_frame(frame))
            return
        if len(self.pending) >= self.limit:
            self._overflow()
            return
        self.pending.append((message_id, frame))
        if self.live and self.writer is None:
            self.writer = asyncio.create_task(self._drain())

    def hold(self) -> None:
        """Keep frames back (while a frame of this client's is handled): they leave together."""
        self.live = False

    def release(self) -> None:
        """Send what was held (in one write when the socket takes it), then send as things
        happen. A new connection is held until it has been caught up."""
        self.live = True
        if not self.pending or self.writer is not None:
            return
        direct = self.direct
        if direct is not None and direct.direct_ready():
            for frame in self._take():
                self._write(websocket_frame(frame))
        else:
            self.writer = asyncio.create_task(self._drain())

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.cancel()

    async def _drain(self) -> None:
        """Send the queue, in order, as fast as the client reads; then stop."""
        try:
            while self.pending:
                if self.direct is not None:
                    await self.direct.direct_drained()
                    if not self.direct.direct_open():
                        return
                for frame in self._take():
                    if self.direct is not None:
                        self._write(websocket_frame(frame))
                    elif self.websocket is not None:
                        await self.websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket is gone: the reader finds out and cleans up
        finally:
            if self.writer is asyncio.current_task():
                self.writer = None

    def _write(self, framed: bytes) -> None:
        if not self.out:
            self.outbox.add(self)
        self.out.append(framed)

    def flush(self) -> None:
        """Write what this turn of the loop framed for this socket, in one system call."""
        if not self.out:
            return
        data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
        self.out.clear()
        if self.direct is not None and self.direct.direct_open():
            self.direct.direct_write(data)

    def _take(self) -> list[str]:
        """Empty the queue: the frames still worth sending, joined when the format allows."""
        frames = [self._fresh(*pending) for pending in self.pending]
        self.pending.clear()
        if self.format.joins_frames:
            frames = ["".join(frames)]
        return [frame for frame in frames if frame]

    def _fresh(self, message_id: int, frame: str) -> str:
        """`frame`, or nothing if it carries a message the client has already been sent."""
        if message_id:
            if message_id <= self.floor:
                return ""
            self.floor = message_id
        return frame

    def _overflow(self) -> None:
        log.warning("dropping a connection in room %s: its reader fell behind", self.session.room)
        self.overflowed = True
        self.pending.clear()
        self.out.clear()
        if self.direct is not None:
            self.direct.direct_abort()  # the reader sees the disconnect and cleans up
        else:  # no direct path: close through ASGI (a second at most), then the reader stops
            if self.writer is not None:
                self.writer.cancel()
            self.writer = asyncio.create_task(self.close(TRY_AGAIN_LATER, "too slow: reconnect"))

    async def close(self, code: int, reason: str) -> None:
        """Close with `code`, giving up after a second (a stalled client never reads it)."""
        self.flush()
        if self.direct is not None and self.direct.direct_open():
            closing = self.direct.direct_close(code, reason)
        elif self.websocket is not None and self.websocket.client_state is WebSocketState.CONNECTED:
            closing = self.websocket.close(code, reason)
        else:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(closing, timeout=1)
