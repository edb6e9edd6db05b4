"""The broker interface: publish an event to a channel, call handlers subscribed to it."""

from collections.abc import Callable
from typing import Any, Protocol

Event = dict[str, Any]
Handler = Callable[[Event], None]


class Broker(Protocol):
    """Delivers each published event once to every handler subscribed to its channel, in order.

    Handlers run on the event loop and must not block: they only enqueue.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, event: Event) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> None: ...

    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...
