"""Helpers of the store contract tests (tests/conftest.py opens the stores they run on)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from chat.store import NewMessage, Store, open_store
from chat.store.search import words


def draft(room: str, n: int, text: str = "hello") -> NewMessage:
    return NewMessage(
        room=room, author="ann", author_key="k1", n=n, text=text, created_at=datetime.now(UTC)
    )


def a_room() -> str:
    return "r" + uuid.uuid4().hex[:12]


async def find(store: Store, room: str, query: str, limit: int = 50) -> list[str]:
    return [m.text for m in await store.search(room, words(query), limit)]


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


@asynccontextmanager
async def opened(*urls: str) -> AsyncIterator[list[Store]]:
    """Stores on these databases, started (one per URL: two on one URL are two processes)."""
    stores = [open_store(url) for url in urls]
    try:
        for each in stores:
            await each.start()
        yield stores
    finally:
        for each in stores:
            await each.close()


@asynccontextmanager
async def own_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A database of its own on the test server, with the chat's tables (its statistics are
    not disturbed by other tests' rows); dropped afterwards. Yields its URL."""
    name = prefix + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(server_url)
    await admin.execute(f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        opened = open_store(url)
        await opened.start()
        await opened.close()
        yield url
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()
