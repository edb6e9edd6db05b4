"""One contract, every backend: the same cases run over SQLite and a real PostgreSQL."""

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat.errors import StoreUnavailable
from chat.store import NewMessage, SessionRecord, Store, open_store
from tests.servers import PostgresServer

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chat.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.start()
    yield opened
    await opened.close()


def draft(room: str, n: int, text: str = "hello") -> NewMessage:
    return NewMessage(
        room=room, author="ann", author_key="k1", n=n, text=text, created_at=datetime.now(UTC)
    )


def a_room() -> str:
    return "r" + uuid.uuid4().hex[:12]


async def test_add_returns_the_stored_message_with_an_increasing_id(store: Store) -> None:
    room = a_room()
    first = await store.add(draft(room, 1, "one"))
    second = await store.add(draft(room, 2, "two"))
    assert second.id > first.id
    assert (first.room, first.n, first.text, first.author) == (room, 1, "one", "ann")


async def test_recent_is_the_last_messages_oldest_first_and_only_that_room(store: Store) -> None:
    room, other = a_room(), a_room()
    for n in range(1, 8):
        await store.add(draft(room, n, f"m{n}"))
    await store.add(draft(other, 1, "elsewhere"))
    assert [m.text for m in await store.recent(room, 3)] == ["m5", "m6", "m7"]
    assert [m.text for m in await store.recent(other, 100)] == ["elsewhere"]
    assert await store.recent(a_room(), 10) == []


async def test_after_returns_what_came_later(store: Store) -> None:
    room = a_room()
    stored = [await store.add(draft(room, n, f"m{n}")) for n in range(1, 6)]
    assert [m.text for m in await store.after(room, stored[1].id, 100)] == ["m3", "m4", "m5"]
    assert [m.text for m in await store.after(room, stored[1].id, 2)] == ["m3", "m4"]


async def test_text_and_time_survive_the_round_trip(store: Store) -> None:
    room = a_room()
    text = "<b>ünïcødé</b> 🎉\nsecond line"
    added = await store.add(draft(room, 1, text))
    [read] = await store.recent(room, 1)
    assert read == added and read.text == text
    assert read.created_at.tzinfo is not None


async def test_messages_outlive_the_store_object(store_url: str) -> None:
    room = a_room()
    first = open_store(store_url)
    await first.start()
    await first.add(draft(room, 1, "kept"))
    await first.close()
    second = open_store(store_url)
    await second.start()
    assert [m.text for m in await second.recent(room, 10)] == ["kept"]
    await second.close()


async def test_an_unreachable_database_is_a_clear_error() -> None:
    from tests.servers import free_port

    broken = open_store(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(StoreUnavailable):
        await broken.start()
    await broken.close()


async def test_each_message_names_the_rooms_previous_one(store: Store) -> None:
    room, other = a_room(), a_room()
    first = await store.add(draft(room, 1, "one"))
    elsewhere = await store.add(draft(other, 1, "elsewhere"))
    second = await store.add(draft(room, 2, "two"))
    assert (first.prev, second.prev, elsewhere.prev) == (0, first.id, 0)


async def test_concurrent_adds_to_one_room_form_one_chain(store_url: str) -> None:
    """Two stores (two processes) writing one room at once: every message's `prev` is the one
    before it in id order, so receivers can always put the room back in order."""
    stores = [open_store(store_url), open_store(store_url)]
    for opened in stores:
        await opened.start()
    room = a_room()
    try:
        added = await asyncio.gather(
            *(stores[i % 2].add(draft(room, i + 1, f"m{i}")) for i in range(40))
        )
    finally:
        for opened in stores:
            await opened.close()
    chain = sorted(added, key=lambda m: m.id)
    assert [m.prev for m in chain] == [0, *[m.id for m in chain[:-1]]]


async def test_numbered_finds_a_sessions_message_by_its_number(store: Store) -> None:
    room, key = a_room(), uuid.uuid4().hex[:12]
    stored = await store.add(dataclasses.replace(draft(room, 7, "seven"), author_key=key))
    assert await store.numbered(key, 7) == dataclasses.replace(stored, prev=0)
    assert await store.numbered(key, 8) is None
    assert await store.numbered("nobody", 7) is None


async def test_sessions_are_pruned_when_idle_and_empty_ones_sooner(store: Store) -> None:
    wrote, lurked = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    room = a_room()
    for key in (wrote, lurked):
        await store.save_session(SessionRecord(key=key, room=room, name=key, browser="b"))
    await store.add(dataclasses.replace(draft(room, 1), author_key=wrote))
    loaded = await store.load_session(wrote)
    assert loaded is not None and loaded.seq == 1 and abs(loaded.seen_at - time.time()) < 60
    now = time.time()
    # Seen just now: neither is old enough (other tests' older sessions may go).
    await store.prune_sessions(idle_before=now - 60, empty_before=now - 60)
    assert await store.load_session(lurked) and await store.load_session(wrote)
    # Empty sessions go after the short limit; ones that wrote stay until the long one.
    assert await store.prune_sessions(idle_before=now - 60, empty_before=now + 1) >= 1
    assert await store.load_session(lurked) is None and await store.load_session(wrote)
    await store.touch_sessions([wrote])
    assert await store.prune_sessions(idle_before=now + 1, empty_before=now + 1) >= 1
    assert await store.load_session(wrote) is None
