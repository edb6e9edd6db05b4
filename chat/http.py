"""Our HTTP server protocol: uvicorn's httptools protocol with a bounded request head.

httptools has no limit of its own: it buffers a header for as long as the client sends it, and
waits for the end of the head for ever. Here the head of every request (the first, keep-alive
follow-ups, WebSocket upgrades) is counted as it arrives: over `max_header_size` bytes the client
gets 431 and the connection is closed, before the parser sees (and buffers) the excess. A head not
complete within `header_timeout` seconds of the connection, or of the follow-up request's first
byte, gets 408 (or a plain close if nothing came). Once a head is complete nothing here limits
the request: a slow body, a long response and an upgraded WebSocket are left alone.
"""

import asyncio
import functools
from asyncio import TimerHandle
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from chat.config import Settings
from chat.sockets import SERVER, ChatWebSocketProtocol

_settings = Settings()


@functools.cache
def server_info(direct_writes: bool, max_header_size: int) -> dict[object, object]:
    """What the app may tell about the server it runs under (one shared dict: don't mutate)."""
    return {"direct_writes": direct_writes, "max_header_size": max_header_size}


class ChatHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a request-head size limit and a request-head timeout."""

    max_header_size = _settings.max_header_size
    header_timeout = _settings.header_timeout

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        ws = self.ws_protocol_class
        direct = ws is not None and issubclass(ws, ChatWebSocketProtocol)
        self.server_info = server_info(direct, self.max_header_size)
        self.head_size: int | None = 0  # bytes of the pending request head; None: head complete
        self.head_begun = False  # the parser has seen the pending request's first byte
        self.head_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(self.header_timeout, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.cancel_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.head_size is None:
            super().data_received(data)
            return
        room = self.max_header_size - self.head_size
        if len(data) <= room:
            self.head_size += len(data)
            super().data_received(data)
            return
        # Feed only what the head may still take; if it ends in there, the rest is the body.
        self.head_size = self.max_header_size
        super().data_received(data[:room])
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # refused by the parser, or upgraded to a WebSocket
        if self.head_size == self.max_header_size:
            self.refuse(431, "Request header fields too large.")
        else:
            self.data_received(data[room:])

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {SERVER: self.server_info}
        self.head_begun = True
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.header_timeout, self.head_timed_out)

    def on_headers_complete(self) -> None:
        self.cancel_head_timer()
        self.head_size = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The next head starts here. If it starts inside this read (pipelining), the rest of
        # the read escapes the count: at most one read (64-256 KiB) beyond the limit.
        self.head_size = 0
        self.head_begun = False
        super().on_message_complete()

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined head: close once the response is out
        elif self.head_begun:
            self.refuse(408, "Request head not received in time.")
        else:
            self.transport.close()

    def cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def refuse(self, status: int, message: str) -> None:
        """Answer `status` and close, unless a response is under way (then only close)."""
        if self.cycle is None or self.cycle.response_complete:
            body = message.encode()
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join([*head, body]))
        self.transport.close()
