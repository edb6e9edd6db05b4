"""SQLite, the default store: the stdlib driver, called on the event loop's own thread.

In WAL mode with synchronous=NORMAL a commit appends to the log without waiting for the disk:
an insert costs 25-90 µs, while a trip to a worker thread and back costs more than the work
(through aiosqlite, about 1 ms a message, the largest cost of a round trip). Every 1,000 pages
of log, SQLite's own checkpoint copies it into the database and syncs: one insert in a few
hundred takes ~5 ms on our machines. (A checkpoint on another thread is no better: under a
steady stream of writes it never catches up, and the log and every lookup in it grow without
bound.) Its statements are compiled once from the tables PostgreSQL uses too (sqlite_statements.py).
New messages are indexed for search in batches (sqlite_index.py); a room's latest messages are
kept between reads while the database says they are unchanged (recent.py). Several processes
on one SQLite file work, but PostgreSQL is the store for that.
"""

import contextlib
import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from secrets import token_urlsafe
from typing import Any

from sqlalchemy.engine import make_url

from chat.errors import StoreUnavailable
from chat.i18n import N_
from chat.store import search, sqlite_index
from chat.store.base import Message, NewMessage, Reaction, SessionRecord, gathered
from chat.store.recent import Recent
from chat.store.sqlite_statements import (
    ADD,
    AFTER,
    BEFORE,
    DELETE,
    DIALECT,
    EDIT,
    FORGET_REACTIONS,
    GET,
    GIVE,
    LOAD_SESSION,
    NEW_SECRET,
    NUMBERED,
    PRUNE,
    REACTED,
    REACTIONS_OF,
    RECENT,
    RECENT_STATE,
    SAVE_SESSION,
    SCHEMA,
    SECRET,
    TAKE_BACK,
    Statement,
    message_of,
    to_db,
)
from chat.store.tables import (
    ADDED_COLUMNS,
    COLUMNS,
    LAST_ID,
    ROOMS_FOLDED,
    UNFOLDED_ROOMS,
    add_column,
    folded,
)


class SQLiteStore:
    """Messages and sessions in one SQLite file; every failure becomes `StoreUnavailable`."""

    def __init__(self, url: str) -> None:
        self.path = make_url(url).database or ":memory:"
        self._db: sqlite3.Connection | None = None
        self._recent = Recent()
        self._later = sqlite_index.Later(self._index_new)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteStore.start() must be awaited before the store is used")
        return self._db

    async def start(self) -> None:
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")  # a deleted text's bytes are zeroed
            self._db.execute("PRAGMA busy_timeout=5000")
            for ddl in SCHEMA:
                self._db.execute(ddl)
            for column in ADDED_COLUMNS:  # a database from an older release
                with contextlib.suppress(sqlite3.OperationalError):  # "duplicate column"
                    self._db.execute(add_column(column, DIALECT))
            self._db.execute("UPDATE sessions SET seen_at = ? WHERE seen_at = 0", (time.time(),))
            sqlite_index.replace_old_trigger(self._db)
            for ddl in search.SQLITE_SCHEMA:
                self._db.execute(ddl)
            self._db.execute("BEGIN IMMEDIATE")  # what was left waiting, before any change
            sqlite_index.index(self._db)
            self._db.execute("COMMIT")
            self._fold_rooms()
            self._index_once()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                N_("Cannot open the database: {problem}"), problem=str(exc)
            ) from exc

    def _fold_rooms(self) -> None:
        db = self.db
        if db.execute("SELECT 1 FROM meta WHERE name = ?", (ROOMS_FOLDED,)).fetchone():
            return
        rooms = [room for (room,) in db.execute(UNFOLDED_ROOMS)]
        for old, new in folded(rooms):
            for table in ("messages", "sessions"):
                db.execute(f"UPDATE {table} SET room = ? WHERE room = ?", (new, old))  # noqa: S608
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, '1')", (ROOMS_FOLDED,))

    def _index_once(self) -> None:
        """Index the messages of a database from before search (new ones index themselves)."""
        db = self.db
        if db.execute("SELECT 1 FROM meta WHERE name = ?", (search.SQLITE_INDEXED,)).fetchone():
            return
        db.execute(search.SQLITE_REBUILD)
        db.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES (?, '1')", (search.SQLITE_INDEXED,)
        )

    @contextlib.contextmanager
    def _transaction(self, problem: str) -> Iterator[sqlite3.Connection]:
        """All of it or none of it; any failure is `StoreUnavailable(problem)`."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreUnavailable(problem) from exc

    def _index_new(self, problem: str = "") -> None:
        """Index for search the messages stored since the last time (see sqlite_index.py)."""
        problem = problem or _AWAY
        try:
            waiting = sqlite_index.waiting(self.db)
        except sqlite3.Error as exc:
            raise StoreUnavailable(problem) from exc
        if waiting:
            with self._transaction(problem) as db:
                sqlite_index.index(db)

    async def close(self) -> None:
        self._later.cancel()
        if self._db is not None:
            with contextlib.suppress(StoreUnavailable):
                self._index_new()
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None

    def _run(self, statement: Statement, problem: str, **values: Any) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(statement.sql, statement.parameters(values)).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(problem) from exc

    async def ping(self) -> None:
        self._run(SECRET, _AWAY)

    async def add(self, message: NewMessage) -> Message:
        values = {c.name: getattr(message, c.name) for c in COLUMNS}
        stored = {**values, "created_at": to_db(message.created_at)}
        try:  # autocommit: the message is stored when the statement is done
            [(new_id, prev)] = self.db.execute(ADD.sql, ADD.parameters(stored)).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                N_("Your message could not be saved, so it was not sent. Try again in a moment.")
            ) from exc
        self._later.stored()
        return Message(id=new_id, prev=prev, **values)

    async def numbered(self, author_key: str, n: int) -> Message | None:
        rows = self._run(NUMBERED, _UNREADABLE, key=author_key, n=n)
        return message_of(rows[0]) if rows else None

    async def recent(self, room: str, limit: int) -> list[Message]:
        # The state first, then the rows: rows newer than the state kept with it are re-read.
        [state] = self._run(RECENT_STATE, _UNREADABLE, room=room, limit=limit)
        if (kept := self._recent.get(room, limit, state)) is not None:
            return kept
        rows = self._run(RECENT, _UNREADABLE, room=room, limit=limit)
        found = self._with_reactions([message_of(row) for row in reversed(rows)])
        self._recent.put(room, limit, state, found)
        return found

    async def after(self, room: str, after_id: int, limit: int) -> list[Message]:
        rows = self._run(AFTER, _UNREADABLE, room=room, after=after_id, limit=limit)
        return self._with_reactions([message_of(row) for row in rows])

    async def before(self, room: str, before_id: int, limit: int) -> list[Message]:
        rows = self._run(BEFORE, _UNREADABLE, room=room, before=before_id, limit=limit)
        return self._with_reactions([message_of(row) for row in reversed(rows)])

    def _with_reactions(self, found: list[Message]) -> list[Message]:
        """`found`, each message with its reactions."""
        if not found:
            return found
        ids = [m.id for m in found]
        rows: list[tuple[Any, ...]] = []
        try:
            for start in range(0, len(ids), 500):  # SQLite's limit on parameters
                chunk = ids[start : start + 500]
                sql = REACTIONS_OF.format(marks=",".join("?" * len(chunk)))
                rows += self.db.execute(sql, chunk).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(_UNREADABLE) from exc
        by_message = gathered(rows)
        return [
            dataclasses.replace(m, reactions=by_message[m.id]) if m.id in by_message else m
            for m in found
        ]

    async def get(self, room: str, message_id: int) -> Message | None:
        rows = self._run(GET, _UNREADABLE, room=room, id=message_id)
        return self._with_reactions([message_of(rows[0])])[0] if rows else None

    async def edit(self, room: str, message_id: int, text: str, at: datetime) -> Message | None:
        values = {"id": message_id, "room": room, "text": text, "at": to_db(at)}
        with self._transaction(_UNCHANGED) as db:
            sqlite_index.index(db)  # the edit's trigger takes the text it had out of the index
            rows = db.execute(GET.sql, GET.parameters(values)).fetchall()
            if not rows or not db.execute(EDIT.sql, EDIT.parameters(values)).rowcount:
                return None
        return await self.get(room, message_id)

    async def delete(self, room: str, message_id: int, at: datetime) -> Message | None:
        values = {"id": message_id, "room": room, "at": to_db(at)}
        with self._transaction(_UNCHANGED) as db:
            sqlite_index.index(db)  # the delete's trigger takes the text out of the index
            rows = db.execute(GET.sql, GET.parameters(values)).fetchall()
            if not rows or not db.execute(DELETE.sql, DELETE.parameters(values)).rowcount:
                return None
            db.execute(FORGET_REACTIONS.sql, FORGET_REACTIONS.parameters(values))
        return await self.get(room, message_id)

    async def react(
        self, room: str, message_id: int, emoji: str, owner: str, name: str, at: datetime
    ) -> tuple[Reaction, ...] | None:
        values = {"id": message_id, "room": room, "emoji": emoji, "owner": owner}
        with self._transaction(_UNCHANGED) as db:
            found = db.execute(GET.sql, GET.parameters(values)).fetchall()
            if not found or message_of(found[0]).deleted:
                return None
            if not db.execute(TAKE_BACK.sql, TAKE_BACK.parameters(values)).rowcount:
                given = {**values, "name": name, "at": to_db(at)}
                db.execute(GIVE.sql, GIVE.parameters(given))
            db.execute(REACTED.sql, REACTED.parameters({**values, "at": to_db(at)}))
        message = await self.get(room, message_id)
        return message.reactions if message else ()

    async def search(
        self, room: str, words: list[str], limit: int, before: int | None = None
    ) -> list[Message]:
        if not words:
            return []
        self._index_new(_UNREADABLE)
        match = search.fts5_match(room, words)
        below = LAST_ID if before is None else before
        try:
            rows = self.db.execute(search.SQLITE_SEARCH, (match, below, room, limit)).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(_UNREADABLE) from exc
        return self._with_reactions([message_of(row) for row in rows])

    async def secret(self) -> str:
        self._run(NEW_SECRET, _AWAY, value=token_urlsafe(32))
        [(value,)] = self._run(SECRET, _AWAY)
        return str(value)

    async def save_session(self, record: SessionRecord) -> None:
        self._run(
            SAVE_SESSION,
            N_("Your session could not be saved. Try again in a moment."),
            key=record.key,
            room=record.room,
            name=record.name,
            browser=record.browser,
            seen_at=time.time(),
        )

    async def load_session(self, key: str) -> SessionRecord | None:
        rows = self._run(LOAD_SESSION, _AWAY, key=key)
        if not rows:
            return None
        key, room, name, browser, seen_at, seq = rows[0]
        return SessionRecord(
            key=key, room=room, name=name, browser=browser, seq=seq, seen_at=seen_at
        )

    async def touch_sessions(self, keys: list[str]) -> None:
        now = time.time()
        for start in range(0, len(keys), 500):  # SQLite's limit on parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            try:
                self.db.execute(
                    f"UPDATE sessions SET seen_at = ? WHERE key IN ({marks})",  # noqa: S608 (only ?s)
                    [now, *chunk],
                )
            except sqlite3.Error as exc:
                raise StoreUnavailable(_AWAY) from exc

    async def prune_sessions(self, idle_before: float, empty_before: float) -> int:
        try:
            cursor = self.db.execute(
                PRUNE.sql,
                PRUNE.parameters({"idle_before": idle_before, "empty_before": empty_before}),
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(_AWAY) from exc
        return cursor.rowcount


_UNREADABLE = N_("The message history cannot be read right now.")
_UNCHANGED = N_("The message could not be changed: nothing was changed. Try again in a moment.")
_AWAY = N_("The database is not answering.")
