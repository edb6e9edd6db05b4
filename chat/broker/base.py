"""The broker interface: events between processes, and who is online."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Event = dict[str, Any]
Handler = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class Member:
    """Someone online in a room: their session's public key, name and browser."""

    key: str
    name: str
    browser: str


class Broker(Protocol):
    """Delivers each published event once to every handler subscribed to its channel, in order.

    Handlers run on the event loop and must not block: they only enqueue. When the broker lost
    its connection and may have missed events, it calls the `on_resync` callback once it is back.
    """

    on_resync: Callable[[], None] | None

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, event: Event) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> None: ...

    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    async def join(self, room: str, member: Member) -> bool:
        """Mark `member` online in `room` (or update their name); True if they were not."""
        ...

    async def leave(self, room: str, key: str) -> bool:
        """Mark `key` offline; True if this call removed them."""
        ...

    async def members(self, room: str) -> list[Member]: ...

    async def rooms(self) -> dict[str, int]:
        """Rooms with people online, and how many."""
        ...

    async def keep_alive(self, room: str, members: list[Member]) -> None:
        """This process still holds these people's connections (re-adds them if the broker
        forgot them, e.g. after a Redis restart)."""
        ...

    async def sweep(self) -> list[tuple[str, Member]]:
        """Remove people whose process stopped keeping them alive; return (room, member)."""
        ...
