"""SQLite's full-text index of new messages, kept up in batches rather than one per message.

FTS5 writes a new segment of its index at every commit that changes it: indexed by its insert
trigger, a message cost more than twice what it costs alone. So the trigger only queues the new
message (`messages_fts_pending`, in the insert's own transaction: nothing is lost in a crash),
and the queue is indexed a moment later, all of that moment's messages in one transaction, or
at once before anything that needs them in the index: a search, or an edit or a delete (their
triggers take the old text out of the index, in the same transaction). Any process may index
the queue; each message is indexed once.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from chat.store.search import SQLITE_QUEUED

log = logging.getLogger(__name__)

DELAY = 0.05  # seconds a new message may wait to be indexed (searches index it first)
_TRIGGER = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_insert'"
_WAITING = "SELECT 1 FROM messages_fts_pending LIMIT 1"
_INDEX = """INSERT INTO messages_fts (rowid, room, text)
SELECT m.id, m.room, m.text FROM messages_fts_pending AS p JOIN messages AS m ON m.id = p.id
ORDER BY p.id"""
_DONE = "DELETE FROM messages_fts_pending"


def replace_old_trigger(db: sqlite3.Connection) -> None:
    """Releases before this one indexed each insert in its trigger: drop it (its database is
    fully indexed) for the one that queues (made with the rest of the schema)."""
    found = db.execute(_TRIGGER).fetchone()
    if found is not None and SQLITE_QUEUED not in found[0]:
        db.execute("DROP TRIGGER messages_fts_insert")


def waiting(db: sqlite3.Connection) -> bool:
    """Are messages waiting to be indexed?"""
    return db.execute(_WAITING).fetchone() is not None


def index(db: sqlite3.Connection) -> None:
    """Index the messages waiting; inside a write transaction (`BEGIN IMMEDIATE`)."""
    if waiting(db):
        db.execute(_INDEX)
        db.execute(_DONE)


class Later:
    """Calls `index_now` a moment after a message is stored, once for all stored meanwhile."""

    def __init__(self, index_now: Callable[[], None]) -> None:
        self.index_now = index_now
        self._timer: asyncio.TimerHandle | None = None

    def stored(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(DELAY, self._run)

    def _run(self) -> None:
        self._timer = None
        try:
            self.index_now()
        except Exception:  # busy or away: the next message, search, edit or delete does it
            log.warning("could not index new messages for search yet", exc_info=True)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
