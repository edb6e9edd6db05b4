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
GIVE_UP = 5  # store reads in a row with nothing passed on at all before a gap is skipped


class RoomOrder:
    """Passes a room's messages on in store order, each once; fills gaps from the store."""

    __slots__ = ("changes", "deliver", "fetch", "filling", "last", "stalled", "waiting")

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
        self.stalled = 0  # store reads in a row that moved nothing on
        self.changes: dict[int, list[Callable[[], None]]] = {}  # by the message they change

    def seen(self, newest: int) -> None:
        """Pages were just given the room up to `newest` (history or a resync; 0: empty)."""
        if self.last is None or newest > self.last:
            self.last = newest
        self._release()
        self._apply_changes()
        self._wait_for_gaps()

    def receive(self, message: Message) -> None:
        """A message event, possibly early, late or twice. Until the room's history has been
        read (`seen`), events wait: the history decides where the room stands."""
        last = self.last
        if last is not None and message.id <= last:
            return
        if last is not None and (not message.prev or message.prev <= last):
            self._pass(message)
            self._release()
            return
        self.waiting[message.prev] = message
        self._wait_for_gaps()

    def change(self, message_id: int, apply: Callable[[], None]) -> None:
        """A change to a message (an edit, a delete, reactions) goes out after the message
        itself: at once if it has been passed on, else when it is."""
        if self.last is not None and message_id <= self.last:
            apply()
        else:
            self.changes.setdefault(message_id, []).append(apply)

    def _wait_for_gaps(self) -> None:
        if self.waiting and self.filling is None:
            loop = asyncio.get_running_loop()
            self.filling = loop.call_later(PATIENCE, self._start_filling)

    def close(self) -> None:
        if self.filling is not None:
            self.filling.cancel()

    def _pass(self, message: Message) -> None:
        self.last = message.id
        self.stalled = 0
        self.deliver(message)
        self._apply_changes()

    def _apply_changes(self) -> None:
        """Changes whose message has been passed on (or that the history already showed)."""
        if self.last is None or not self.changes:
            return
        for message_id in [i for i in self.changes if i <= self.last]:
            for apply in self.changes.pop(message_id):
                apply()

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
        """A predecessor never came (its publisher failed or died): read the gap from the store.
        (With no history read yet there is nothing to read after: pass on what arrived.)"""
        try:
            if self.last is None:
                raise LookupError("no history yet")
            missing = await self.fetch(self.last)
        except (ChatError, LookupError):
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
        self._release()
        if self.waiting:
            self.stalled += 1  # back to 0 whenever anything is passed on, however it came
        if self.waiting and self.stalled >= GIVE_UP:  # nothing came for a while: skip the gap
            log.warning("a gap in a room's messages never filled: skipped")
            arrived = sorted(self.waiting.values(), key=lambda m: m.id)
            self.waiting = {}
            for message in arrived:
                if self.last is None or message.id > self.last:
                    self._pass(message)
        self._wait_for_gaps()
