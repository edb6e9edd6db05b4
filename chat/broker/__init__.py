"""Fan-out between processes: one interface, backends chosen by URL (`memory://`, `redis://`)."""

from chat.broker.base import Broker, Event, Handler
from chat.broker.memory import MemoryBroker


def open_broker(url: str) -> Broker:
    """Return the broker for `url`."""
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return MemoryBroker()
    raise ValueError(f"Unsupported broker URL {scheme}://; use memory://")


__all__ = ["Broker", "Event", "Handler", "open_broker"]
