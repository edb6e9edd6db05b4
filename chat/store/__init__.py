"""Where messages live: one interface, backends chosen by URL (SQLite by default, PostgreSQL)."""

from chat.store.base import Message, NewMessage, SessionRecord, Store
from chat.store.sql import SQLStore


def open_store(url: str) -> Store:
    """The store for `url` (`sqlite:///path`, `postgresql://…`); `start()` it before use."""
    return SQLStore(url)


__all__ = ["Message", "NewMessage", "SessionRecord", "Store", "open_store"]
