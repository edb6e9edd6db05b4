"""One page of older history, near a room's start and near its millionth message: the same time.

    python -m tests.bench.paging            print the figures (about 2 minutes)
    python -m tests.bench.paging --quick    20,000 messages: checks that it runs
    python -m tests.bench.paging --write    also update the README table (paging markers)
    python -m tests.bench.paging --replot figures.json --write   the table from a saved --out

A room gets 1,000,000 messages, with one message of another room after every nine of its own
(nine other rooms take turns), then 100,000 messages of one other room: a quiet stretch, so the
room's newest message is not the table's. The rows go in by the fastest route (`executemany`
in one transaction for SQLite, `generate_series` for PostgreSQL, started as the tests start it),
not through `Store.add`. Then `Store.before(room, id, 50)`, through the real store objects,
is timed many times at each position, the positions taking turns call by call: the page before
the room's message 100, 500,000 and 1,000,000, and its newest page (`before` the table's next
id, as a reader who opens the room's history does). Each answer is checked: 50 messages of the
room, oldest first, all before the id. The query plan the database chose is printed as well.
Not a test: nothing here passes or fails a build (tests/test_store.py runs `measure` on a small
table so that this file cannot rot).
"""

import argparse
import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
ROOM = "bench"
NOISE_EVERY = 10  # every tenth row belongs to another room
NOISE_ROOMS = 9
LIMIT = 50
FULL = {"messages": 1_000_000, "quiet": 100_000, "calls": 2_000}
QUICK = {"messages": 20_000, "quiet": 2_000, "calls": 200}
WHEN = datetime(2024, 1, 1, tzinfo=UTC)
# SQLAlchemy's SQLite DateTime format, the one chat/store/sqlite.py reads back.
WHEN_SQLITE = WHEN.strftime("%Y-%m-%d %H:%M:%S.%f")
COLUMNS = "room, author, author_key, n, text, created_at"


def rows_for(count: int) -> int:
    """Rows to insert so that `count` of them are the room's when every NOISE_EVERY-th is not."""
    return count + (count - 1) // (NOISE_EVERY - 1)


def _sqlite_rows(room: str, count: int, quiet: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, rows_for(count) + 1):
        if i % NOISE_EVERY:
            yield (room, "ann", "k-bench", i, f"message {i}", WHEN_SQLITE)
        else:
            yield (f"noise{i % NOISE_ROOMS}", "bob", "k-noise", i, f"noise {i}", WHEN_SQLITE)
    for i in range(1, quiet + 1):
        yield ("elsewhere", "cy", "k-quiet", i, f"elsewhere {i}", WHEN_SQLITE)


def fill_sqlite(path: Path, room: str, count: int, quiet: int = 0) -> None:
    """`count` messages of `room` among others' (the schema exists: the store made it)."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        with db:
            db.executemany(
                f"INSERT INTO messages ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                _sqlite_rows(room, count, quiet),
            )
    finally:
        db.close()


async def fill_postgres(url: str, room: str, count: int, quiet: int = 0) -> None:
    """The same rows as `fill_sqlite`, made by PostgreSQL itself; then VACUUM ANALYZE, as
    autovacuum would have done by the time a table has this many rows."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"INSERT INTO messages ({COLUMNS}) "  # noqa: S608 (constants only)
            f"SELECT CASE WHEN g % {NOISE_EVERY} = 0 THEN 'noise' || (g % {NOISE_ROOMS}) "
            "ELSE $1 END, 'ann', 'k-bench', g, 'message ' || g, $2 "
            "FROM generate_series(1, $3::bigint) AS g",
            room,
            WHEN,
            rows_for(count),
        )
        await conn.execute(
            f"INSERT INTO messages ({COLUMNS}) "  # noqa: S608 (constants only)
            "SELECT 'elsewhere', 'cy', 'k-quiet', g, 'elsewhere ' || g, $1 "
            "FROM generate_series(1, $2::bigint) AS g",
            WHEN,
            quiet,
        )
        await conn.execute("VACUUM ANALYZE messages")
    finally:
        await conn.close()


def sqlite_positions(path: Path, room: str, positions: list[int]) -> dict[str, int]:
    """The id of the room's message at each position (1 = its first), and `newest`: the id
    after the table's last, the `before` of a reader who opens the room's history."""
    db = sqlite3.connect(path)
    try:
        found = {
            f"message {k:,}": db.execute(
                "SELECT id FROM messages WHERE room = ? ORDER BY id LIMIT 1 OFFSET ?",
                (room, k - 1),
            ).fetchone()[0]
            for k in positions
        }
        found["newest"] = db.execute("SELECT max(id) + 1 FROM messages").fetchone()[0]
    finally:
        db.close()
    return found


async def postgres_positions(url: str, room: str, positions: list[int]) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        found = {
            f"message {k:,}": await conn.fetchval(
                "SELECT id FROM messages WHERE room = $1 ORDER BY id LIMIT 1 OFFSET $2",
                room,
                k - 1,
            )
            for k in positions
        }
        found["newest"] = await conn.fetchval("SELECT max(id) + 1 FROM messages")
    finally:
        await conn.close()
    return found


def sqlite_plan(path: Path, room: str, before: int, limit: int = LIMIT) -> list[str]:
    """EXPLAIN QUERY PLAN of the statement SQLiteStore.before runs, one line per step."""
    from chat.store.sqlite_statements import BEFORE

    db = sqlite3.connect(path)
    try:
        values = {"room": room, "before": before, "limit": limit}
        rows = db.execute("EXPLAIN QUERY PLAN " + BEFORE.sql, BEFORE.parameters(values))
        return [row[-1] for row in rows]
    finally:
        db.close()


def postgres_statement(room: str, before: int, limit: int = LIMIT) -> tuple[str, list[Any]]:
    """`older(...)` compiled as SQLStore sends it through asyncpg: SQL with $n, and its values."""
    from sqlalchemy.dialects.postgresql import asyncpg as dialect_module
    from sqlalchemy.sql.compiler import SQLCompiler

    from chat.store.tables import older

    dialect = dialect_module.dialect()  # type: ignore[no-untyped-call]
    compiled = older(room, before, limit, as_row=True).compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled.string, [compiled.params[name] for name in compiled.positiontup or ()]


async def postgres_plan(
    url: str, room: str, before: int, limit: int = LIMIT, generic: bool = False, text: bool = False
) -> Any:
    """EXPLAIN of SQLStore.before's statement: its plan for these values (the custom plan), or
    with `generic` the one a prepared statement falls back to after five executions (asyncpg
    prepares every statement). JSON (the top plan node), or with `text` PostgreSQL's lines."""
    import asyncpg

    sql, values = postgres_statement(room, before, limit)
    form = "(COSTS OFF) " if text else "(FORMAT JSON) "
    conn = await asyncpg.connect(url)
    try:
        if generic:
            await conn.execute(f"PREPARE older_page AS {sql}")
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            literals = ", ".join(f"quote_nullable(${i}::text)" for i in range(1, len(values) + 1))
            quoted = await conn.fetchval(
                f"SELECT concat_ws(', ', {literals})", *(str(value) for value in values)
            )
            rows = await conn.fetch(f"EXPLAIN {form}EXECUTE older_page({quoted})")
        else:
            rows = await conn.fetch(f"EXPLAIN {form}{sql}", *values)
    finally:
        await conn.close()
    if text:
        return [row[0] for row in rows]
    return json.loads(rows[0][0])[0]["Plan"]


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


async def measure(
    store: Store, room: str, before_ids: dict[str, int], calls: int, limit: int = LIMIT
) -> dict[str, dict[str, float]]:
    """Time `store.before(room, id, limit)` `calls` times at each position, the positions taking
    turns call by call (their order rotating each round); check every answer. Per position:
    median, p95 and max in milliseconds."""
    labels = list(before_ids)
    times: dict[str, list[float]] = {label: [] for label in labels}
    for label in labels:  # warm-up: pages and prepared statements, not timed
        await store.before(room, before_ids[label], limit)
    for round_ in range(calls):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            before_id = before_ids[label]
            start = time.perf_counter()
            page = await store.before(room, before_id, limit)
            times[label].append((time.perf_counter() - start) * 1000)
            ids = [m.id for m in page]
            assert len(page) == limit, f"{label}: {len(page)} messages, not {limit}"
            assert ids == sorted(ids) and ids[-1] < before_id, f"{label}: wrong order or range"
            assert all(m.room == room for m in page), f"{label}: another room's message"
    found = {}
    for label, values in times.items():
        values.sort()
        found[label] = {
            "median_ms": statistics.median(values),
            "p95_ms": _percentile(values, 0.95),
            "max_ms": values[-1],
            "calls": len(values),
        }
    return found


def _machine(postgres_version: str) -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        if match := re.search(r"model name\s*:\s*(.*)", info.read()):
            cpu = match[1]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} x {cpu}, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"shared with others' work (load average {load:.1f} at the start); "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {postgres_version} (fsync off, default settings otherwise)"
    )


async def run_sqlite(work: Path, sizes: dict[str, int], positions: list[int]) -> dict[str, Any]:
    path = work / "paging.db"
    store = open_store(f"sqlite:///{path}")
    await store.start()  # the schema, as the chat makes it
    started = time.perf_counter()
    fill_sqlite(path, ROOM, sizes["messages"], sizes["quiet"])
    filled = time.perf_counter() - started
    before_ids = sqlite_positions(path, ROOM, positions)
    plans = {label: sqlite_plan(path, ROOM, before) for label, before in before_ids.items()}
    try:
        timings = await measure(store, ROOM, before_ids, sizes["calls"])
    finally:
        await store.close()
    rows = rows_for(sizes["messages"]) + sizes["quiet"]
    return {"rows": rows, "fill_s": filled, "plans": plans, "timings": timings}


async def run_postgres(sizes: dict[str, int], positions: list[int]) -> dict[str, Any]:
    import asyncpg

    from tests.servers import PostgresServer

    server = PostgresServer().start()
    try:
        store = open_store(server.url)
        await store.start()
        try:
            started = time.perf_counter()
            await fill_postgres(server.url, ROOM, sizes["messages"], sizes["quiet"])
            filled = time.perf_counter() - started
            before_ids = await postgres_positions(server.url, ROOM, positions)
            plans = {}
            for label, before in before_ids.items():
                custom = await postgres_plan(server.url, ROOM, before, text=True)
                generic = await postgres_plan(server.url, ROOM, before, generic=True, text=True)
                plans[label] = custom if custom == generic else [*custom, "generic:", *generic]
            timings = await measure(store, ROOM, before_ids, sizes["calls"])
        finally:
            await store.close()
        conn = await asyncpg.connect(server.url)
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
        await conn.close()
    finally:
        server.stop()
        server.remove()
    rows = rows_for(sizes["messages"]) + sizes["quiet"]
    return {"rows": rows, "fill_s": filled, "plans": plans, "timings": timings, "version": version}


def report(found: dict[str, Any], sizes: dict[str, int], measured_on: str) -> str:
    labels = list(next(iter(found.values()))["timings"])
    header = " | ".join(labels)
    lines = [
        f"Measured on {measured_on}. A room of {sizes['messages']:,} messages, one of another "
        f"room's after every {NOISE_EVERY - 1} of its own, then {sizes['quiet']:,} of one other "
        f"room; `Store.before(room, id, {LIMIT})` called {sizes['calls']:,} times at each "
        "position through the real store objects (SQLite on the event loop's thread, "
        "PostgreSQL through SQLAlchemy and asyncpg, a pooled connection per call), the positions "
        "taking turns call by call; median / p95 in milliseconds.",
        "",
        f"| store | rows in the table | {header} |",
        "|---|---|" + "---|" * len(labels),
    ]
    for name, result in found.items():
        cells = " | ".join(
            f"{t['median_ms']:.3f} / {t['p95_ms']:.3f}" for t in result["timings"].values()
        )
        lines.append(f"| {name} | {result['rows']:,} | {cells} |")
    lines += [
        "",
        "The plans the databases chose (`EXPLAIN`; for PostgreSQL the plan for the values and, "
        "when it differs, the generic plan a prepared statement may switch to after five "
        "executions; the same at every position unless the positions are named):",
        "",
    ]
    for name, result in found.items():
        distinct: dict[str, list[str]] = {}
        for label, plan in result["plans"].items():
            shape = re.sub(r"'\d+'::bigint", "ID", "\n".join(plan))  # the same at every id
            distinct.setdefault(shape, []).append(label)
        for plan_text, where in distinct.items():
            at = "" if len(distinct) == 1 else f" ({', '.join(where)})"
            lines += [f"{name}{at}:", "", "```", plan_text, "```", ""]
    return "\n".join(lines).rstrip()


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    start, end = "<!-- paging:start -->", "<!-- paging:end -->"
    before, rest = readme.read_text().split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")


async def run(sizes: dict[str, int]) -> tuple[dict[str, Any], str]:
    count = sizes["messages"]
    positions = [100, count // 2, count]
    with tempfile.TemporaryDirectory(prefix="chat-paging-") as work:
        sqlite_found = await run_sqlite(Path(work), sizes, positions)
    postgres_found = await run_postgres(sizes, positions)
    measured_on = _machine(postgres_found["version"])
    return {"SQLite": sqlite_found, "PostgreSQL": postgres_found}, measured_on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="20,000 messages: checks it runs")
    parser.add_argument("--write", action="store_true", help="update the README table")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    parser.add_argument("--replot", type=Path, help="no measuring: the table from this --out")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.replot:
        saved = json.loads(args.replot.read_text())
        sizes, found, measured_on = saved["sizes"], saved["found"], saved["machine"]
    else:
        found, measured_on = asyncio.run(run(sizes))
    text = report(found, sizes, measured_on)
    if args.out and not args.replot:
        document = {"machine": measured_on, "sizes": sizes, "found": found}
        args.out.write_text(json.dumps(document, indent=2))
    for name, result in found.items():
        print(f"{name}: {result['rows']:,} rows inserted in {result['fill_s']:.1f} s")
    print(text)
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
