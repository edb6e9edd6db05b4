"""Databases from older releases, opened by today's store on every backend: rooms with
capitals become the lower-case rooms people now reach; messages from before search are found."""

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat.store import NewMessage, Store, open_store
from chat.store.search import words
from tests.servers import PostgresServer

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url


async def _execute(url: str, sql: str, *values: object) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql.replace("$1", "?").replace("$2", "?").replace("$3", "?"), values)
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql, *values)
    finally:
        await conn.close()


async def test_rooms_stored_with_capitals_are_found_under_their_folded_name(store_url: str) -> None:
    old = "Dev-" + uuid.uuid4().hex[:8].upper()
    store = open_store(store_url)
    await store.start()  # today's schema, as an upgraded database has it
    await store.close()
    await _execute(store_url, "DELETE FROM meta WHERE name = 'rooms_folded'")  # as before 0.2
    insert = (
        "INSERT INTO messages (room, author, author_key, n, text, created_at) "
        "VALUES ($1, 'ann', 'k', 1, $2, '2026-01-01 00:00:00+00')"
    )
    await _execute(store_url, insert, old, "from the old days")
    await _execute(store_url, insert, "общий-" + old.lower(), "already folded")
    store = open_store(store_url)
    await store.start()
    try:
        assert [m.text for m in await store.recent(old.lower(), 10)] == ["from the old days"]
        assert await store.recent(old, 10) == []
        assert [m.text for m in await store.recent("общий-" + old.lower(), 10)] == [
            "already folded"
        ]
    finally:
        await store.close()


# The tables as they were before messages could be edited, deleted, reacted to or searched:
# no owner, edited_at or deleted_at, no reactions table, nothing indexed for search.
_OLD_SESSIONS = """CREATE TABLE sessions (key VARCHAR(32) NOT NULL PRIMARY KEY,
    room VARCHAR(32) NOT NULL, name VARCHAR(64) NOT NULL, browser VARCHAR(64) NOT NULL,
    seen_at FLOAT NOT NULL DEFAULT '0')"""
_OLD_REST = [
    "CREATE INDEX ix_messages_room_id ON messages (room, id)",
    "CREATE INDEX ix_messages_author_key_n ON messages (author_key, n)",
    "CREATE TABLE meta (name VARCHAR(32) NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
    _OLD_SESSIONS,
]
OLD_TABLES = {
    "sqlite": [
        """CREATE TABLE messages (id INTEGER NOT NULL PRIMARY KEY, room VARCHAR(32) NOT NULL,
           author VARCHAR(64) NOT NULL, author_key VARCHAR(32) NOT NULL, n INTEGER NOT NULL,
           text TEXT NOT NULL, created_at DATETIME NOT NULL)""",
        *_OLD_REST,
    ],
    "postgresql": [
        """CREATE TABLE messages (id BIGSERIAL PRIMARY KEY, room VARCHAR(32) NOT NULL,
           author VARCHAR(64) NOT NULL, author_key VARCHAR(32) NOT NULL, n INTEGER NOT NULL,
           text TEXT NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL)""",
        *_OLD_REST,
    ],
}
OLD_MESSAGES = [
    ("general", "Привет from the old days"),
    ("general", "an old note"),
    ("other", "old news elsewhere"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all (on PostgreSQL one of its own on the test server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    import asyncpg

    server: PostgresServer = request.getfixturevalue("postgres")
    name = "old_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(server.url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield server.url.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def _found(store: Store, room: str, query: str) -> list[str]:
    return [m.text for m in await store.search(room, words(query), 10)]


async def test_a_database_from_before_search_has_its_old_messages_found(empty_url: str) -> None:
    kind = "sqlite" if empty_url.startswith("sqlite") else "postgresql"
    for ddl in OLD_TABLES[kind]:
        await _execute(empty_url, ddl)
    insert = (
        "INSERT INTO messages (room, author, author_key, n, text, created_at) "
        "VALUES ($1, 'ann', 'k', $2, $3, '2025-06-01 00:00:00+00')"
    )
    for n, (room, text) in enumerate(OLD_MESSAGES, start=1):
        await _execute(empty_url, insert, room, n, text)
    store = open_store(empty_url)
    await store.start()
    try:
        old = await store.recent("general", 10)
        assert [(m.text, m.owner, m.edited_at, m.deleted_at, m.reactions) for m in old] == [
            ("Привет from the old days", "", None, None, ()),
            ("an old note", "", None, None, ()),
        ]
        assert await _found(store, "general", "OLD") == ["an old note", "Привет from the old days"]
        assert await _found(store, "general", "привет") == ["Привет from the old days"]
        assert await _found(store, "other", "old") == ["old news elsewhere"]
        await store.edit("general", old[1].id, "a newer note", datetime.now(UTC))
        await store.react("general", old[0].id, "👍", "o1", "Ann", datetime.now(UTC))
        await store.add(
            NewMessage("general", "bob", "k2", 1, "old and new", datetime.now(UTC), owner="o2")
        )
        assert await _found(store, "general", "old") == ["old and new", "Привет from the old days"]
    finally:
        await store.close()
    store = open_store(empty_url)  # opened again: indexed once, not twice
    await store.start()
    try:
        assert await _found(store, "general", "old") == ["old and new", "Привет from the old days"]
        assert await _found(store, "general", "note") == ["a newer note"]
        [reacted] = await store.search("general", ["привет"], 10)
        assert [(r.emoji, r.names) for r in reacted.reactions] == [("👍", ("Ann",))]
    finally:
        await store.close()
