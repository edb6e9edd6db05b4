"""The in-process broker: the default for a single server process."""

from collections import defaultdict

from chat.broker.base import Event, Handler


class MemoryBroker:
    """Calls the channel's handlers directly; nothing leaves the process."""

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, event: Event) -> None:
        for handler in list(self._handlers.get(channel, ())):
            handler(event)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]
