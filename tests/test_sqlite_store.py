"""SQLite's search index, kept up in batches: a new message is found at once, edits and
deletes of messages still waiting keep it right, and nothing is lost or indexed twice."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat.store import Store, open_store, sqlite_index
from chat.store.search import SQLITE_SCHEMA
from tests.stores import a_room, draft, find, opened

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Two store objects on one file, as two processes would have."""
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    async with opened(url, url) as stores:
        yield stores


async def test_a_message_is_found_as_soon_as_it_is_stored(two: list[Store]) -> None:
    here, there = two
    room = a_room()
    await here.add(draft(room, 1, "zebra crossing"))
    assert await find(here, room, "zebra") == ["zebra crossing"]
    await here.add(draft(room, 2, "zebra again"))
    assert await find(there, room, "zebra") == ["zebra again", "zebra crossing"]


async def test_edits_and_deletes_of_messages_still_waiting_keep_the_index_right(
    two: list[Store],
) -> None:
    here, there = two
    room, now = a_room(), datetime.now(UTC)
    edited = await here.add(draft(room, 1, "apple pie"))
    gone = await here.add(draft(room, 2, "apple tart"))
    await there.edit(room, edited.id, "pear pie", now)  # before either was indexed
    await here.delete(room, gone.id, now)
    assert await find(here, room, "apple") == []
    assert await find(there, room, "pear") == ["pear pie"]
    assert_index_whole(here)


async def test_new_messages_are_indexed_a_moment_later_all_together(
    two: list[Store],
) -> None:
    here, _ = two
    room = a_room()
    for n in range(1, 21):
        await here.add(draft(room, n, f"word{n}"))
    assert waiting(here) == 20
    async with asyncio.timeout(5):  # no search, no edit: the timer indexes them
        while waiting(here):
            await asyncio.sleep(sqlite_index.DELAY / 4)
    assert_index_whole(here)


async def test_messages_left_waiting_by_a_crash_are_indexed_on_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    crashed = open_store(url)
    await crashed.start()
    room = a_room()
    await crashed.add(draft(room, 1, "survivor"))
    crashed._later.cancel()  # type: ignore[attr-defined]  # it dies before its timer
    assert waiting(crashed) == 1
    async with opened(url) as [again]:
        assert waiting(again) == 0
        assert await find(again, room, "survivor") == ["survivor"]
        assert_index_whole(again)


async def test_a_database_indexed_by_the_old_trigger_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    room = a_room()
    async with opened(f"sqlite:///{path}") as [store]:
        await store.add(draft(room, 1, "before the upgrade"))
    db = sqlite3.connect(path)  # as an older release left it: each insert indexed at once
    with db:
        db.execute("DROP TRIGGER messages_fts_insert")
        db.execute(
            "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
            "INSERT INTO messages_fts (rowid, room, text) VALUES (new.id, new.room, new.text); "
            "END"
        )
        db.execute(
            "INSERT INTO messages (room, author, author_key, n, text, created_at, owner) "
            "VALUES (?, 'ann', 'k1', 2, 'indexed by the old trigger', '2024-01-01 00:00:00', '')",
            (room,),
        )
    db.close()
    async with opened(f"sqlite:///{path}") as [upgraded]:
        await upgraded.add(draft(room, 3, "after the upgrade"))
        assert waiting(upgraded) == 1
        found = await find(upgraded, room, "the")
        assert found == ["after the upgrade", "indexed by the old trigger", "before the upgrade"]
        assert_index_whole(upgraded)


def test_the_schema_queues_new_messages_in_their_own_transaction() -> None:
    [trigger] = [ddl for ddl in SQLITE_SCHEMA if "messages_fts_insert" in ddl]
    assert "messages_fts_pending" in trigger and "messages_fts (" not in trigger


def waiting(store: Store) -> int:
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    [(count,)] = db.execute("SELECT count(*) FROM messages_fts_pending").fetchall()
    return int(count)


def assert_index_whole(store: Store) -> None:
    """FTS5 compares its index with the messages: each indexed once, as it is now."""
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
