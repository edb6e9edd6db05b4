"""A client of the JSON protocol (`chat.v1.json`); the terminal client and the demo bots use it.

It keeps one session across reconnects (its numbering goes on), drops the messages a reconnect
repeats, and sends one line at a time until the server acknowledges it: nothing is lost and,
because the welcome after a reconnect says which number was stored last, nothing is sent twice.
"""

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from chat.formats import JSON_SUBPROTOCOL

Event = dict[str, Any]
POLICY_VIOLATION = 1008
SESSION_GONE = {"unknown_session", "expired_session"}
REPLIES = {"sent", "named", "done", "error"}  # the answers to our commands


class Refused(Exception):
    """The server will not have us (a bad room, too many connections, …): retrying won't help."""


class Unreachable(Exception):
    """The first connection failed: wrong address, or no server there."""


def socket_url(base: str, room: str) -> str:
    """`http://host:port` (or ws://, https://, wss://) -> the room's WebSocket URL."""
    parts = urlsplit(base if "://" in base else f"http://{base}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in {"ws", "wss"} or not parts.netloc:
        raise ValueError(f"{base!r} is not a server address such as http://127.0.0.1:8000")
    return urlunsplit((scheme, parts.netloc, f"/rooms/{quote(room)}/ws", "", ""))


class ChatClient:
    """One person in one room. `run()` keeps the connection; `send()` and `rename()` use it."""

    def __init__(
        self,
        url: str,
        room: str,
        name: str | None = None,
        *,
        on_event: Callable[[Event], None] = lambda event: None,
        on_status: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.url = socket_url(url, room)
        self.room = room
        self.name = name or ""
        self.key = ""
        self.session = ""
        self.seq = 0  # the number of our last stored message
        self.last_id = 0  # the newest message we have passed on
        self.on_event = on_event
        self.on_status = on_status
        self._wanted_name = name
        self._socket: ClientConnection | None = None
        self._online = asyncio.Event()
        self._reply: asyncio.Future[Event] | None = None
        self._turn = asyncio.Lock()
        self._refusal = ""  # what the server said before closing on us

    async def run(self) -> None:
        """Stay connected, reconnecting with backoff, until cancelled or refused."""
        attempt = 0
        while True:
            try:
                async with connect(
                    self._address(),
                    subprotocols=[Subprotocol(JSON_SUBPROTOCOL)],
                    compression=None,
                    open_timeout=5,
                ) as socket:
                    attempt = 0
                    await self._read(socket)
            except ConnectionClosed as closed:
                self._refused_or_resumable(closed)
            except (OSError, InvalidHandshake, TimeoutError) as error:
                if not self.session:
                    raise Unreachable(f"cannot reach {self.url}: {error}") from None
            except InvalidURI as error:
                raise Unreachable(str(error)) from None
            finally:
                self._offline()
            delay = min(10.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            why = f" ({self._refusal})" if self._refusal else ""
            self.on_status(f"connection lost{why}; reconnecting in {delay:.1f}s")
            self._refusal = ""
            await asyncio.sleep(delay)

    async def ready(self) -> None:
        """Wait until the server has welcomed us."""
        await self._online.wait()

    async def send(self, text: str) -> Event:
        """Post `text`; returns the `sent` acknowledgement or the `error` that refused it."""
        return await self._command({"type": "message", "message": text}, retry_on=self._stored)

    async def rename(self, name: str) -> Event:
        """Ask for a display name; returns `named`, or the `error` (taken, invalid)."""
        return await self._command({"type": "rename", "name": name})

    async def edit(self, message_id: int, text: str) -> Event:
        """Change one of our messages; returns `done`, or the `error` (not ours, too late, …)."""
        return await self._command({"type": "edit", "id": message_id, "text": text})

    async def delete(self, message_id: int) -> Event:
        return await self._command({"type": "delete", "id": message_id})

    async def react(self, message_id: int, emoji: str) -> Event:
        """Give a reaction, or take it back if we gave it already."""
        return await self._command({"type": "react", "id": message_id, "emoji": emoji})

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    def _address(self) -> str:
        query = {"session": self.session} if self.session else {}
        if not self.session and self._wanted_name:
            query["name"] = self._wanted_name
        return f"{self.url}?{urlencode(query)}" if query else self.url

    async def _read(self, socket: ClientConnection) -> None:
        self._socket, self._refusal = socket, ""
        async for frame in socket:
            self._handle(json.loads(frame))

    def _handle(self, event: Event) -> None:
        kind = event["type"]
        if kind == "welcome":
            resumed = bool(self.session)
            self.session, self.key, self.seq = event["session"], event["key"], event["seq"]
            self.name = event["name"]
            self._online.set()
            self.on_status(
                f"{'reconnected to' if resumed else 'joined'} #{self.room} as {self.name}"
            )
        elif kind == "history":
            for message in event["messages"]:
                self._pass_on(message)
        elif kind == "message":
            self._pass_on(event)
        elif kind in REPLIES and self._reply and not self._reply.done():
            self._reply.set_result(event)
        elif kind == "error" and not self._online.is_set():
            self._refusal = event["message"]  # the handshake was refused: it explains the close
        else:
            self.on_event(event)

    def _pass_on(self, message: Event) -> None:
        if message["id"] > self.last_id:
            self.last_id = message["id"]
            self.on_event({**message, "type": "message"})

    def _refused_or_resumable(self, closed: ConnectionClosed) -> None:
        if closed.rcvd is None or closed.rcvd.code != POLICY_VIOLATION:
            return
        if self.session and closed.rcvd.reason in SESSION_GONE:
            self.on_status("the server forgot this session; starting a new one")
            self.session, self.seq = "", 0
            return
        raise Refused(self._refusal or closed.rcvd.reason or "refused by the server")

    def _offline(self) -> None:
        self._socket = None
        self._online.clear()
        if self._reply and not self._reply.done():
            self._reply.set_exception(ConnectionError("the connection dropped"))

    def _stored(self, seq_before: int) -> bool:
        """After a reconnect: did the server store the message whose acknowledgement we lost?"""
        return self.seq > seq_before

    async def _command(
        self, command: Event, retry_on: Callable[[int], bool] | None = None
    ) -> Event:
        async with self._turn:  # one command at a time: replies come back in order
            pause = 0.2
            while True:
                await self._online.wait()
                socket, seq_before = self._socket, self.seq
                self._reply = asyncio.get_running_loop().create_future()
                try:
                    assert socket is not None
                    await socket.send(json.dumps(command))
                    reply = await self._reply
                except (ConnectionError, ConnectionClosed):
                    if self._reply.done() and not self._reply.cancelled():
                        self._reply.exception()  # retrieved: the drop is handled here
                    await self._online.wait()
                    if retry_on is not None and retry_on(seq_before):
                        return {"type": "sent", "room": self.room, "n": self.seq}
                    continue
                if reply["type"] == "error" and reply["code"] == "rate_limited":
                    await asyncio.sleep(pause)  # the server asked us to slow down: wait, retry
                    pause = min(pause * 2, 2.0)
                    continue
                if reply["type"] == "sent":
                    self.seq = reply["n"]
                return reply
