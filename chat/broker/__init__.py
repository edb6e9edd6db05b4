"""Fan-out between processes: one interface, backends chosen by URL (`memory://`, `redis://`)."""

from chat.broker.base import Broker, Event, Handler, Member
from chat.broker.memory import MemoryBroker


def open_broker(url: str, presence_timeout: float = 15.0) -> Broker:
    """Return the broker for `url`; the Redis backend is imported only when asked for."""
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return MemoryBroker()
    if scheme in {"redis", "rediss", "unix"}:
        from chat.broker.redis import RedisBroker

        return RedisBroker(url, presence_timeout)
    raise ValueError(f"Unsupported broker URL {scheme}://; use memory:// or redis://host:port/db")


__all__ = ["Broker", "Event", "Handler", "Member", "open_broker"]
