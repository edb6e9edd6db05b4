"""The in-process broker: the default for a single server process."""

import logging
from collections import defaultdict
from collections.abc import Callable

from chat.broker.base import Event, Handler, Member

log = logging.getLogger(__name__)


class MemoryBroker:
    """Calls the channel's handlers directly; nothing leaves the process."""

    def __init__(self) -> None:
        self.on_resync: Callable[[], None] | None = None
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._online: defaultdict[str, dict[str, Member]] = defaultdict(dict)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, event: Event) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(event)
            except Exception:  # a subscriber's failure is not the publisher's
                log.exception("a handler failed on an event of %s", channel)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]

    async def join(self, room: str, member: Member) -> bool:
        new = member.key not in self._online[room]
        self._online[room][member.key] = member
        return new

    async def leave(self, room: str, key: str) -> bool:
        people = self._online.get(room, {})
        removed = people.pop(key, None) is not None
        if not people:
            self._online.pop(room, None)
        return removed

    async def members(self, room: str) -> list[Member]:
        return list(self._online.get(room, {}).values())

    async def rooms(self) -> dict[str, int]:
        return {room: len(people) for room, people in self._online.items() if people}

    async def keep_alive(self, room: str, members: list[Member]) -> None:
        return None

    async def sweep(self) -> list[tuple[str, Member]]:
        return []
