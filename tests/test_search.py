"""Search, the same contract on every store: each database's own full-text engine finds a
room's messages with every word, newest first, and never reads what people type as syntax."""

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from chat.store import Store, open_store, search
from chat.store.search import words
from chat.store.tables import LAST_ID
from tests.bench import paging
from tests.bench import search as search_bench
from tests.servers import PostgresServer
from tests.stores import a_room, draft, find, nodes, own_database

pytestmark = pytest.mark.anyio
BUSY = "busy"  # the room the search benchmark fills


async def test_search_finds_the_rooms_messages_with_every_word_newest_first(
    store: Store,
) -> None:
    room, other = a_room(), a_room()
    texts = [
        "apple banana",
        "banana cherry",
        "Cherry, apple & banana!",
        "apple",
        "pineapple banana",
    ]
    for n, text in enumerate(texts, start=1):
        await store.add(draft(room, n, text))
        await store.add(draft(other, n, text))
    assert await find(store, room, "apple banana") == ["Cherry, apple & banana!", "apple banana"]
    assert await find(store, room, "banana apple apple") == await find(store, room, "apple banana")
    assert await find(store, room, "banana") == [
        "pineapple banana",
        "Cherry, apple & banana!",
        "banana cherry",
        "apple banana",
    ]
    assert await find(store, room, "apple") == ["apple", "Cherry, apple & banana!", "apple banana"]
    assert await find(store, room, "appl") == await find(store, room, "apples") == []  # whole words
    assert await find(store, room, "apple durian") == []
    assert await store.search(room, [], 50) == []
    assert {m.room for m in await store.search(other, words("banana"), 50)} == {other}


async def test_search_stops_at_the_limit_and_below_before(store: Store) -> None:
    room = a_room()
    stored = [await store.add(draft(room, n, f"needle number {n}")) for n in range(1, 8)]
    await store.add(draft(a_room(), 1, "needle elsewhere"))
    newest = await store.search(room, ["needle"], 3)
    assert [m.id for m in newest] == [m.id for m in stored[:-4:-1]]
    older = await store.search(room, ["needle"], 3, before=stored[4].id)
    assert [m.text for m in older] == ["needle number 4", "needle number 3", "needle number 2"]
    assert [m.text for m in await store.search(room, ["needle"], 50, before=stored[1].id)] == [
        "needle number 1"
    ]
    assert await store.search(room, ["needle"], 50, before=stored[0].id) == []
    assert len(await store.search(room, ["needle"], 50)) == 7


async def test_search_ignores_case_in_every_alphabet(store: Store) -> None:
    room = a_room()
    texts = ["Привет, МИР", "Die Straße", "Un Café crème", "नमस्ते दुनिया", "ÉLAN vital"]
    for n, text in enumerate(texts, start=1):
        await store.add(draft(room, n, text))
    for query, text in [
        ("привет", "Привет, МИР"),
        ("ПРИВЕТ мир", "Привет, МИР"),
        ("straße", "Die Straße"),
        ("STRAßE", "Die Straße"),
        ("café CRÈME", "Un Café crème"),
        ("नमस्ते", "नमस्ते दुनिया"),
        ("élan", "ÉLAN vital"),
    ]:
        assert await find(store, room, query) == [text], query
    assert await find(store, room, "cafe") == await find(store, room, "мирный") == []


async def test_search_finds_words_joined_by_punctuation(store: Store) -> None:
    room = a_room()
    text = "write to ann@example.com, see https://example.org/docs_page?id=7 or v1.2.3 (1.5 GB)"
    await store.add(draft(room, 1, text))
    for query in ["ann", "example com", "example.org", "docs page", "id 7", "v1", "2 3", "5 gb"]:
        assert await find(store, room, query) == [text], query
    assert await find(store, room, "docs_pages") == []


QUERY_SYNTAX = [
    'she said "quoted" and left',
    "foo and bar",
    "foo or bar, who knows",
    "only foo here",
    "x marks the spot",
    "drop table messages, please",
    "near a b",
    "text abc",
    "abc alone",
    "a star: a* b",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"quoted"', ['she said "quoted" and left']),
        ("a*", ["a star: a* b", "near a b"]),  # the word "a", not a prefix
        ("foo OR bar", ["foo or bar, who knows"]),  # every word, "or" too
        ("foo AND bar", ["foo and bar"]),
        ("NOT foo", []),  # "not" is a word like another
        ("-x", ["x marks the spot"]),  # not "without x"
        ("'; DROP TABLE messages; --", ["drop table messages, please"]),
        ("NEAR(a b)", ["near a b"]),
        ("text:abc", ["text abc"]),  # not a column filter ("abc alone" has no "text")
        ("room:x", []),
        ("^x", ["x marks the spot"]),
        ('"foo" + {bar}', ["foo or bar, who knows", "foo and bar"]),
        ('*" ^ : ( ) - + \\', []),  # no words at all
    ],
)
async def test_search_never_reads_query_syntax(
    store: Store, query: str, expected: list[str]
) -> None:
    room = a_room()
    for n, text in enumerate(QUERY_SYNTAX, start=1):
        await store.add(draft(room, n, text))
    assert await find(store, room, query) == expected
    assert len(await store.recent(room, 50)) == len(QUERY_SYNTAX)


async def test_search_words_that_are_not_cut_by_words_are_never_syntax(store: Store) -> None:
    """`words()` never makes these, but a store hands whatever it gets to its engine as text."""
    room = a_room()
    await store.add(draft(room, 1, "foo or bar"))
    for raw in ['foo" OR "bar', '"', "a*", "NEAR(", "room:x", "'; --", ""]:
        found = await store.search(room, [raw], 10)
        assert all("foo" in m.text for m in found), raw


# Search plans: newest first from the index, never a walk through the whole room.
SEARCH_PLAN = ["SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"]


async def test_sqlite_searches_newest_first_straight_from_the_fts_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    opened = open_store(f"sqlite:///{path}")
    await opened.start()
    await opened.close()
    for asked in (["rare"], ["two", "words"]):
        scan, *rest = search_bench.sqlite_plan(path, BUSY, asked)
        assert scan.startswith("SCAN messages_fts VIRTUAL TABLE INDEX"), scan
        assert rest == SEARCH_PLAN  # and no "USE TEMP B-TREE FOR ORDER BY": no sort


@pytest.fixture
async def search_database(postgres: PostgresServer) -> AsyncIterator[tuple[str, Any]]:
    """A database of its own, with a big room of made-up texts (tests/bench/search.py), analysed;
    and the queries the benchmark times."""
    async with own_database(postgres.url, "search_") as url:
        texts = search_bench.draw(paging.rows_for(20_000))
        await search_bench.fill_postgres(url, texts, quiet=2_000)
        yield url, search_bench.queries(texts)


@pytest.mark.postgres
async def test_postgres_finds_a_rare_word_of_a_big_room_through_the_gin_index(
    search_database: tuple[str, Any],
) -> None:
    url, asked = search_database
    rare = asked["rare"]
    assert 1 <= rare.found <= 10, rare
    values = {
        "room": search_bench.ROOM,
        "below": LAST_ID,
        "window": search.WINDOW,
        "query": " ".join(words(rare.typed)),
        "limit": search_bench.LIMIT,
    }
    # First the room's newest messages, a backward range scan of the room index...
    newest = nodes(await search_bench.postgres_plan(url, search.PG_NEWEST, values))
    scans = [(n["Node Type"], n.get("Index Name")) for n in newest if "Scan" in n["Node Type"]]
    assert ("Index Scan", "ix_messages_room_id") in scans, newest
    assert {kind for kind, _ in scans} <= {"Index Scan", "CTE Scan"}, scans
    # ...then below them, the GIN index alone: no Seq Scan, no walk of the room index.
    older = nodes(await search_bench.postgres_plan(url, search.PG_OLDER, values))
    scans = [(n["Node Type"], n.get("Index Name")) for n in older if "Scan" in n["Node Type"]]
    assert ("Bitmap Index Scan", "ix_messages_words") in scans, older
    assert {index for _, index in scans} <= {"ix_messages_words", None}, scans
    assert "Seq Scan" not in {kind for kind, _ in scans}, scans
    found = open_store(url)
    await found.start()
    try:
        assert [m.id for m in await found.search(search_bench.ROOM, words(rare.typed), 50)] == (
            rare.newest
        )
    finally:
        await found.close()


async def test_the_search_benchmark_still_measures(tmp_path: Path) -> None:
    """tests/bench/search.py's own functions on a small table, so that the benchmark cannot rot."""
    path = tmp_path / "bench.db"
    opened = open_store(f"sqlite:///{path}")
    await opened.start()
    try:
        texts = search_bench.draw(paging.rows_for(2_000))
        asked = search_bench.queries(texts)
        search_bench.fill_sqlite(path, texts, quiet=100)
        found = await search_bench.measure({"SQLite": opened}, search_bench.ROOM, asked, calls=3)
    finally:
        await opened.close()
    kinds = ["common", "uncommon", "medium", "rare", "absent", "two words"]
    assert list(asked) == list(found["SQLite"]) == kinds
    assert asked["absent"].found == 0 and asked["common"].found > asked["medium"].found
    assert len(asked["common"].newest) == search_bench.LIMIT
    for timing in found["SQLite"].values():
        assert timing["calls"] == 3
        assert 0 < timing["median_ms"] <= timing["p95_ms"] <= timing["max_ms"]
    result = {
        "rows": paging.rows_for(2_000) + 100,
        "queries": {kind: dataclasses.asdict(query) for kind, query in asked.items()},
        "timings": found,
    }
    sizes = {"messages": 2_000, "quiet": 100, "calls": 3}
    text = search_bench.report(result, sizes, "a test machine")
    assert "| store | common | uncommon | medium | rare | absent | two words |" in text
    assert "| SQLite |" in text and "2,322 rows" in text


@pytest.mark.postgres
async def test_postgres_plans_the_gin_step_of_every_search_for_its_own_words(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg prepares each statement once per connection; after five runs PostgreSQL may
    keep a generic plan, blind to how common the words are (in a big room, a walk of its whole
    index). The store asks for a custom plan for the GIN step every time."""
    from chat.store.sql import SQLStore

    monkeypatch.setattr(search, "WINDOW", 4)  # both steps: the newest 4, then the GIN index
    opened = open_store(postgres.url)
    await opened.start()
    try:
        assert isinstance(opened, SQLStore)
        room = a_room()
        for n in range(1, 13):
            await opened.add(draft(room, n, f"word{n} common"))
        for n in range(1, 13):
            assert len(await opened.search(room, [f"word{n}", "common"], 50)) == 1
        async with opened.engine.connect() as conn:
            rows = await conn.execute(
                sqlalchemy.text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%WITH hits AS%' AND statement NOT LIKE '%pg_prep%'"
                )
            )
            plans = [tuple(row) for row in rows]
    finally:
        await opened.close()
    assert plans == [(0, 8)]  # word1 to word8 are older than the newest 4


async def test_search_answers_the_same_however_far_it_reads_in_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads a room's newest messages first, then further in order or through the
    GIN index, by how common the words turn out; made small here, every way is taken (SQLite
    has one way). The answer is always the room's newest matches, none twice, none skipped."""
    monkeypatch.setattr(search, "WINDOW", 6)
    monkeypatch.setattr(search, "MAX_READ", 60)
    room, other = a_room(), a_room()
    stored = []
    for n in range(1, 151):
        kinds = ["every", *(f"per{k}" for k in (2, 3, 10, 40) if n % k == 0)]
        if n == 77:
            kinds.append("once")
        stored.append(await store.add(draft(room, n, " ".join(kinds))))
        if n % 5 == 0:
            await store.add(draft(other, n, " ".join(kinds)))
    for query in ["every", "per2", "per3", "per10", "per40", "once", "per2 per3", "per3 per10"]:
        for limit in (1, 7, 50):
            for before in (None, stored[120].id, stored[30].id):
                asked = words(query)
                expected = [
                    m.id
                    for m in reversed(stored)
                    if set(asked) <= set(m.text.split()) and (before is None or m.id < before)
                ][:limit]
                found = await store.search(room, asked, limit, before=before)
                assert [m.id for m in found] == expected, (query, limit, before)
