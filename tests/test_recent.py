"""A room's latest messages, kept between reads by every store: never stale, whichever process
changed them, and bounded."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from chat.store import Store
from chat.store.recent import Recent
from tests.stores import a_room, draft, opened

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two(store_url: str) -> AsyncIterator[list[Store]]:
    """Two store objects on one database, as two processes would have."""
    async with opened(store_url, store_url) as stores:
        yield stores


async def test_recent_messages_change_with_every_change_of_any_process(
    two: list[Store],
) -> None:
    here, there = two
    room, now = a_room(), datetime.now(UTC)
    first = await here.add(draft(room, 1, "one"))
    assert [m.text for m in await here.recent(room, 10)] == ["one"]
    await there.add(draft(room, 2, "two"))
    assert [m.text for m in await here.recent(room, 10)] == ["one", "two"]
    await there.edit(room, first.id, "one, edited", now)
    assert [m.text for m in await here.recent(room, 10)] == ["one, edited", "two"]
    await there.react(room, first.id, "👍", "b-bob", "bob", now)
    [reacted, _] = await here.recent(room, 10)
    assert [r.emoji for r in reacted.reactions] == ["👍"]
    await there.delete(room, first.id, now)
    [deleted, _] = await here.recent(room, 10)
    assert deleted.deleted and not deleted.reactions
    assert await here.recent(room, 10) == await there.recent(room, 10)


async def test_recent_messages_are_the_rooms_latest_at_every_limit(
    two: list[Store],
) -> None:
    here, there = two
    room = a_room()
    for n in range(1, 6):
        await there.add(draft(room, n, f"m{n}"))
        for limit in (1, 3, 10):
            expected = [f"m{i}" for i in range(max(1, n - limit + 1), n + 1)]
            assert [m.text for m in await here.recent(room, limit)] == expected


async def test_what_recent_returns_is_the_callers_own(two: list[Store]) -> None:
    here, _ = two
    room = a_room()
    await here.add(draft(room, 1, "one"))
    (await here.recent(room, 10)).clear()
    assert [m.text for m in await here.recent(room, 10)] == ["one"]


def test_kept_rooms_are_bounded() -> None:
    kept = Recent(kept=5)
    for room in range(10):
        kept.put(f"r{room}", 100, room, [])  # type: ignore[list-item]
    messages = [object()] * 3
    for room in range(4):
        kept.put(f"full{room}", 100, room, messages)  # type: ignore[arg-type]
    assert kept.get("full3", 100, 3) == messages
    assert kept.get("full0", 100, 0) is None  # forgotten: over five messages in all
    assert kept.get("full3", 100, 4) is None  # another state
