"""Where messages live: one interface, backends chosen by URL (SQLite by default, PostgreSQL)."""

from chat.store.base import Message, NewMessage, SessionRecord, Store, more_before


def open_store(url: str) -> Store:
    """The store for `url` (`sqlite:///path`, `postgresql://…`); `start()` it before use."""
    if url.startswith("sqlite:"):
        from chat.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    from chat.store.sql import SQLStore

    return SQLStore(url)


__all__ = ["Message", "NewMessage", "SessionRecord", "Store", "more_before", "open_store"]
