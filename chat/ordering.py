"""Store order for a room's live messages, whichever process stored them and whenever their
events arrive: each message names the one before it, so a missing link is noticed and read
from the store instead of waiting on a lock."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from chat.errors import ChatError
from chat.store import Message

log = logging.getLogger(__name__)
PATIENCE = 0.1  # seconds a message waits for its predecessor's event before the store is read


class RoomOrder:
    """Passes a room's messages on in store order, each once; fills gaps from the store."""

    __slots__ = ("deliver", "fetch", "filling", "last", "waiting")

    def __init__(
        self,
        deliver: Callable[[Message], None],
        fetch: Callable[[int], Awaitable[list[Message]]],
    ) -> None:
        self.deliver = deliver
        self.fetch = fetch  # the room's messages stored after an id, oldest first
        self.last: int | None = None  # the newest message passed on (None: not known yet)
        self.waiting: dict[int, Message] = {}  # by the id of the message they follow
        self.filling: asyncio.TimerHandle | asyncio.Task[None] | None = None

    def seen(self, newest: int) -> None:
        """Pages were just given the room up to `newest` (history or a resync; 0: empty)."""
        if self.last is None or newest > self.last:
            self.last = newest
            self._release()

    def receive(self, message: Message) -> None:
        """A message event, possibly early, late or twice."""
        last = self.last
        if last is not None and message.id <= last:
            return
        if last is None or not message.prev or message.prev <= last:
            self._pass(message)
            self._release()
            return
        self.waiting[message.prev] = message
        if self.filling is None:
            loop = asyncio.get_running_loop()
            self.filling = loop.call_later(PATIENCE, self._start_filling)

    def close(self) -> None:
        if self.filling is not None:
            self.filling.cancel()

    def _pass(self, message: Message) -> None:
        self.last = message.id
        self.deliver(message)

    def _release(self) -> None:
        """Pass on the waiting messages whose predecessor has now been passed on."""
        while self.last is not None and (following := self.waiting.pop(self.last, None)):
            self._pass(following)
        if self.last is not None:
            for prev in [p for p, m in self.waiting.items() if m.id <= self.last]:
                del self.waiting[prev]
        if not self.waiting and isinstance(self.filling, asyncio.TimerHandle):
            self.filling.cancel()
            self.filling = None

    def _start_filling(self) -> None:
        self.filling = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        """A predecessor never came (its publisher failed or died): read the gap from the store."""
        try:
            missing = await self.fetch(self.last or 0)
        except ChatError:
            log.warning("cannot read a gap in a room's messages: passing on what arrived")
            missing = sorted(self.waiting.values(), key=lambda m: m.id)
        except Exception:
            log.exception("reading a gap in a room's messages failed")
            missing = sorted(self.waiting.values(), key=lambda m: m.id)
        finally:
            self.filling = None
        for message in missing:
            if self.last is None or message.id > self.last:
                self._pass(message)
        self.waiting = {p: m for p, m in self.waiting.items() if m.id > (self.last or 0)}
        self._release()
        if self.waiting and self.filling is None:
            self.filling = asyncio.get_running_loop().call_later(PATIENCE, self._start_filling)
