"""A database from before room names were case-folded: its rooms with capitals become the
lower-case rooms people now reach, once, on every store."""

import sqlite3
import uuid
from pathlib import Path

import pytest

from chat.store import open_store
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
