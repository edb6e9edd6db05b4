"""Helpers of the store contract tests (tests/conftest.py opens the stores they run on)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from chat.store import NewMessage, Store
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
