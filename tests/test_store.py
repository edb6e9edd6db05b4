"""One contract, every backend: the same cases run over SQLite and a real PostgreSQL."""

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chat.errors import StoreUnavailable
from chat.store import Message, SessionRecord, Store, open_store
from chat.store.base import REACTIONS, Reaction
from chat.store.search import words
from chat.store.tables import LAST_ID
from tests.bench import paging
from tests.servers import PostgresServer
from tests.stores import a_room, draft, find, nodes, own_database

pytestmark = pytest.mark.anyio


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


async def test_before_is_the_page_before_an_id_oldest_first_and_only_that_room(
    store: Store,
) -> None:
    room, other = a_room(), a_room()
    stored = []
    for n in range(1, 11):
        stored.append(await store.add(draft(room, n, f"m{n}")))
        await store.add(draft(other, n, f"elsewhere {n}"))
    page = await store.before(room, stored[7].id, 3)
    assert [m.text for m in page] == ["m5", "m6", "m7"]
    assert [m.id for m in page] == [m.id for m in stored[4:7]]
    assert {m.room for m in page} == {room}
    # Fewer than the limit are left: all of them, still oldest first.
    assert [m.text for m in await store.before(room, stored[2].id, 50)] == ["m1", "m2"]
    # An id past the room's last (here another room's) is a bound like any other.
    assert [m.text for m in await store.before(room, stored[-1].id + 1, 2)] == ["m9", "m10"]


async def test_before_the_first_message_there_is_nothing(store: Store) -> None:
    room = a_room()
    first = await store.add(draft(room, 1, "first"))
    assert await store.before(room, first.id, 50) == []
    assert await store.before(a_room(), first.id + 1, 50) == []


async def test_paging_back_through_a_room_visits_every_message_once(store: Store) -> None:
    """237 messages (others' in between), pages of 50 from the newest back to the start:
    nothing repeated, nothing skipped, and then an empty page."""
    room, other = a_room(), a_room()
    stored = []
    for n in range(1, 238):
        stored.append(await store.add(draft(room, n, f"m{n}")))
        if n % 7 == 0:
            await store.add(draft(other, n, "elsewhere"))
    page = await store.recent(room, 50)
    pages, read = [len(page)], list(page)
    while page:
        page = await store.before(room, page[0].id, 50)
        pages.append(len(page))
        read = page + read
    assert pages == [50, 50, 50, 50, 37, 0]
    assert [m.id for m in read] == [m.id for m in stored]
    assert [m.text for m in read] == [f"m{n}" for n in range(1, 238)]


async def test_before_keeps_unicode_rooms_apart(store: Store) -> None:
    suffix = uuid.uuid4().hex[:8]
    room, upper = f"общий-{suffix}", f"ОБЩИЙ-{suffix}"
    stored = [await store.add(draft(room, n, f"сообщение {n}")) for n in range(1, 6)]
    await store.add(draft(upper, 1, "другая комната"))
    page = await store.before(room, stored[-1].id, 3)
    assert [m.text for m in page] == ["сообщение 2", "сообщение 3", "сообщение 4"]
    assert {m.room for m in page} == {room}
    assert [m.text for m in await store.before(upper, stored[-1].id + 10, 50)] == ["другая комната"]


# The query plans: a page of older history is one backward range scan of (room, id), however
# long the room. The table for them: a busy room holding most rows, nine small rooms mixed into
# it, then a quiet stretch in which only one other room wrote (tests/bench/paging.py fills it).
BUSY, SMALL = "busy", "noise3"
INDEX_SEARCH = "SEARCH messages USING INDEX ix_messages_room_id (room=? AND id<?)"


async def test_sqlite_pages_back_by_a_range_scan_of_the_room_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    opened = open_store(f"sqlite:///{path}")
    await opened.start()
    await opened.close()
    paging.fill_sqlite(path, BUSY, 20_000, quiet=2_000)
    ids = paging.sqlite_positions(path, BUSY, [100, 20_000])
    cases = [(BUSY, before) for before in ids.values()] + [(SMALL, ids["newest"])]
    for analyzed in (False, True):  # the chat never runs ANALYZE; an operator might
        if analyzed:
            with contextlib.closing(sqlite3.connect(path)) as db:
                db.execute("ANALYZE")
        for room, before in cases:
            # One step: no SCAN of the table, no "USE TEMP B-TREE FOR ORDER BY".
            assert paging.sqlite_plan(path, room, before) == [INDEX_SEARCH], (room, before)


@pytest.fixture
async def plans_database(postgres: PostgresServer) -> AsyncIterator[str]:
    """A database of its own on the test server, filled and analysed: its statistics are not
    disturbed by the other tests' rows."""
    async with own_database(postgres.url, "plans_") as url:
        await paging.fill_postgres(url, BUSY, 20_000, quiet=2_000)
        yield url


def assert_index_range_scan(plan: dict[str, Any]) -> None:
    """Limit over a backward Index Scan of ix_messages_room_id bounded by room and id, and
    nothing else: no Seq Scan, no Sort, no rows read and then filtered out."""
    assert [node["Node Type"] for node in nodes(plan)] == ["Limit", "Index Scan"], plan
    scan = plan["Plans"][0]
    assert (scan["Index Name"], scan["Scan Direction"]) == ("ix_messages_room_id", "Backward")
    assert "ROW((room)::text, id) < ROW(" in scan["Index Cond"], scan  # room and id bound
    assert "Filter" not in scan, scan


@pytest.mark.postgres
@pytest.mark.parametrize(
    "generic",
    [pytest.param(False, id="custom plan"), pytest.param(True, id="generic plan")],
)
async def test_postgres_pages_a_small_room_back_by_a_range_scan_of_the_room_index(
    plans_database: str, generic: bool
) -> None:
    ids = await paging.postgres_positions(plans_database, SMALL, [10, 200])
    for before in ids.values():
        plan = await paging.postgres_plan(plans_database, SMALL, before, generic=generic)
        assert_index_range_scan(plan)


@pytest.mark.postgres
@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
async def test_postgres_pages_the_busiest_room_back_by_a_range_scan_of_the_room_index(
    plans_database: str, generic: bool
) -> None:
    ids = await paging.postgres_positions(plans_database, BUSY, [100, 20_000])
    for before in ids.values():
        plan = await paging.postgres_plan(plans_database, BUSY, before, generic=generic)
        assert_index_range_scan(plan)


async def test_the_paging_benchmark_still_measures(tmp_path: Path) -> None:
    """tests/bench/paging.py's own functions on a small table, so that the benchmark cannot rot."""
    path = tmp_path / "bench.db"
    opened = open_store(f"sqlite:///{path}")
    await opened.start()
    try:
        paging.fill_sqlite(path, "bench", 500, quiet=60)
        ids = paging.sqlite_positions(path, "bench", [100, 500])
        found = await paging.measure(opened, "bench", ids, calls=5)
    finally:
        await opened.close()
    assert list(found) == ["message 100", "message 500", "newest"]
    for timing in found.values():
        assert timing["calls"] == 5
        assert 0 < timing["median_ms"] <= timing["p95_ms"] <= timing["max_ms"]
    plans = {label: paging.sqlite_plan(path, "bench", before) for label, before in ids.items()}
    result = {"rows": paging.rows_for(500) + 60, "fill_s": 0.0, "plans": plans, "timings": found}
    sizes = {"messages": 500, "quiet": 60, "calls": 5}
    text = paging.report({"SQLite": result}, sizes, "a test machine")
    assert "| SQLite | 615 |" in text and INDEX_SEARCH in text


# Edits, deletes, reactions and search: the same contract on every store.
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UNKNOWN = 10**12  # no message has this id
THUMBS, HEART, LAUGH, PARTY, WOW = REACTIONS


def later(minutes: int) -> datetime:
    return AT + timedelta(minutes=minutes)


async def read_everywhere(store: Store, room: str, message_id: int) -> list[Message]:
    """The message as each way of reading a room gives it (recent, before, after, get)."""
    found = [
        *(await store.recent(room, 100)),
        *(await store.before(room, LAST_ID, 100)),
        *(await store.after(room, 0, 100)),
        await store.get(room, message_id),
    ]
    return [m for m in found if m is not None and m.id == message_id]


async def test_an_edit_replaces_the_text_wherever_the_message_is_read(store: Store) -> None:
    room = a_room()
    first = await store.add(draft(room, 1, "the old wording"))
    await store.add(draft(room, 2, "something else"))
    edited = await store.edit(room, first.id, "a fresh text", later(5))
    assert edited is not None
    assert (edited.id, edited.text, edited.edited_at) == (first.id, "a fresh text", later(5))
    assert edited.changed_at == later(5) and edited.deleted_at is None
    assert edited.created_at == first.created_at
    seen = await read_everywhere(store, room, first.id)
    assert seen + await store.search(room, words("fresh"), 10) == [edited] * 5
    assert await find(store, room, "old") == await find(store, room, "wording") == []
    assert (
        await find(store, room, "fresh")
        == await find(store, room, "Text Fresh")
        == ["a fresh text"]
    )
    again = await store.edit(room, first.id, "the old wording back", later(9))
    assert again is not None and again.edited_at == later(9)
    assert await find(store, room, "fresh") == []
    assert await find(store, room, "wording") == ["the old wording back"]


async def test_a_deleted_or_unknown_message_cannot_be_edited(store: Store) -> None:
    room = a_room()
    message = await store.add(draft(room, 1, "soon gone"))
    deleted = await store.delete(room, message.id, later(1))
    assert await store.edit(room, message.id, "back again", later(2)) is None
    assert await store.get(room, message.id) == deleted
    assert await find(store, room, "back again") == []
    assert await store.edit(room, UNKNOWN, "nothing", later(2)) is None
    assert await store.get(room, UNKNOWN) is None


async def test_a_message_is_reached_only_through_its_own_room(store: Store) -> None:
    room, other = a_room(), a_room()
    message = await store.add(draft(room, 1, "stays as it is"))
    await store.add(draft(other, 1, "another room"))
    assert await store.get(other, message.id) is None
    assert await store.edit(other, message.id, "changed", later(1)) is None
    assert await store.delete(other, message.id, later(1)) is None
    assert await store.react(other, message.id, THUMBS, "o1", "Ann", later(1)) is None
    kept = await store.get(room, message.id)
    assert kept is not None
    assert (kept.text, kept.edited_at, kept.deleted_at, kept.reactions) == (
        "stays as it is",
        None,
        None,
        (),
    )
    assert await find(store, other, "stays") == []


async def test_a_delete_forgets_text_and_reactions_and_keeps_the_place(store: Store) -> None:
    room = a_room()
    before, message, after = [
        await store.add(draft(room, n, text))
        for n, text in enumerate(["before it", "regrettable words", "after it"], start=1)
    ]
    await store.react(room, message.id, HEART, "o1", "Ann", later(1))
    deleted = await store.delete(room, message.id, later(2))
    assert deleted is not None
    assert (deleted.id, deleted.text, deleted.deleted_at, deleted.reactions) == (
        message.id,
        "",
        later(2),
        (),
    )
    assert deleted.deleted and deleted.author == "ann" and deleted.edited_at is None
    assert deleted.changed_at == later(2)
    assert [m.id for m in await store.recent(room, 10)] == [before.id, message.id, after.id]
    assert await read_everywhere(store, room, message.id) == [deleted] * 4
    assert await find(store, room, "regrettable") == await find(store, room, "words") == []
    assert await store.delete(room, message.id, later(3)) is None
    assert await store.delete(room, UNKNOWN, later(3)) is None
    assert await store.get(room, message.id) == deleted


async def test_a_reaction_is_given_and_taken_back(store: Store) -> None:
    room = a_room()
    message = await store.add(draft(room, 1, "nice"))
    given = await store.react(room, message.id, THUMBS, "o1", "Ann", later(1))
    assert given == (Reaction(THUMBS, ("Ann",), ("o1",)),)
    assert await store.react(room, message.id, THUMBS, "o1", "Ann", later(2)) == ()
    taken = await store.get(room, message.id)
    assert taken is not None and taken.reactions == () and taken.changed_at == later(2)
    assert taken.version == 2  # each change counts, a reaction taken back too
    unchanged = dataclasses.replace(taken, changed_at=None, version=0)
    assert unchanged == dataclasses.replace(message, prev=0)
    assert await store.react(room, message.id, THUMBS, "o1", "Ann", later(3)) == given
    assert await store.react(room, UNKNOWN, THUMBS, "o1", "Ann", later(4)) is None


async def test_reactions_come_by_kind_in_order_and_by_person_in_time(store: Store) -> None:
    room = a_room()
    message = await store.add(draft(room, 1, "party time"))
    gifts = [
        (PARTY, "o1", "Ann"),
        (THUMBS, "o2", "Bob"),
        (PARTY, "o3", "Cy"),
        (THUMBS, "o1", "Ann"),
    ]
    gifts += [(WOW, "o2", "Bob"), (WOW, "o2", "Bob")]  # given and taken back
    for minute, (emoji, owner, name) in enumerate(gifts, start=1):
        after = await store.react(room, message.id, emoji, owner, name, later(minute))
    expected = (
        Reaction(THUMBS, ("Bob", "Ann"), ("o2", "o1")),
        Reaction(PARTY, ("Ann", "Cy"), ("o1", "o3")),
    )
    assert after == expected
    seen = await read_everywhere(store, room, message.id)
    seen += await store.search(room, words("party"), 10)
    assert seen == [seen[0]] * 5
    assert (seen[0].reactions, seen[0].changed_at) == (expected, later(len(gifts)))


async def test_a_deleted_message_takes_no_reactions(store: Store) -> None:
    room = a_room()
    message = await store.add(draft(room, 1, "gone"))
    await store.delete(room, message.id, later(1))
    assert await store.react(room, message.id, THUMBS, "o1", "Ann", later(2)) is None
    found = await store.get(room, message.id)
    assert found is not None and found.reactions == ()


async def test_a_change_that_fails_halfway_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete is one transaction: if forgetting the reactions fails, the text stays too."""
    from chat.store import sqlite as sqlite_store
    from chat.store.sqlite_statements import Statement

    opened = open_store(f"sqlite:///{tmp_path / 'half.db'}")
    await opened.start()
    room = a_room()
    message = await opened.add(draft(room, 1, "still here"))
    await opened.react(room, message.id, THUMBS, "o1", "Ann", later(1))
    broken = Statement("DELETE FROM no_such_table WHERE message_id = ?", ("id",))
    monkeypatch.setattr(sqlite_store, "FORGET_REACTIONS", broken)
    with pytest.raises(StoreUnavailable):
        await opened.delete(room, message.id, later(2))
    kept = await opened.get(room, message.id)
    assert kept is not None and (kept.text, kept.deleted, len(kept.reactions)) == (
        "still here",
        False,
        1,
    )
    assert await find(opened, room, "still") == ["still here"]
    await opened.close()
