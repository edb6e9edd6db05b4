"""A room's live messages leave in store order, once each, whatever order their events come in."""

import asyncio
from datetime import UTC, datetime

import pytest

from chat.ordering import RoomOrder
from chat.store import Message

pytestmark = pytest.mark.anyio


def message(id_: int, prev: int) -> Message:
    return Message(
        room="r", author="a", author_key="k", n=id_, text=str(id_),
        created_at=datetime.now(UTC), id=id_, prev=prev,
    )  # fmt: skip


class Stored:
    """The room as the store has it; records what the order read from it."""

    def __init__(self, *ids: int) -> None:
        self.messages = [message(i, p) for p, i in zip((0, *ids), ids, strict=False)]
        self.reads: list[int] = []

    async def after(self, after: int) -> list[Message]:
        self.reads.append(after)
        return [m for m in self.messages if m.id > after]


async def test_in_order_events_pass_straight_through() -> None:
    out: list[int] = []
    order = RoomOrder(lambda m: out.append(m.id), Stored().after)
    order.seen(3)
    for id_, prev in [(5, 3), (9, 5), (10, 9)]:
        order.receive(message(id_, prev))
    assert out == [5, 9, 10]


async def test_an_early_event_waits_for_its_predecessor_and_duplicates_are_dropped() -> None:
    out: list[int] = []
    store = Stored(5, 9, 10)
    order = RoomOrder(lambda m: out.append(m.id), store.after)
    order.seen(3)
    order.receive(message(10, 9))
    order.receive(message(9, 5))
    assert out == []
    order.receive(message(5, 3))
    assert out == [5, 9, 10]
    order.receive(message(9, 5))
    assert out == [5, 9, 10] and store.reads == []


async def test_a_predecessor_that_never_comes_is_read_from_the_store() -> None:
    out: list[int] = []
    store = Stored(5, 9)
    order = RoomOrder(lambda m: out.append(m.id), store.after)
    order.seen(3)
    order.receive(message(9, 5))  # 5 was stored, but its event was lost
    async with asyncio.timeout(5):
        while out != [5, 9]:
            await asyncio.sleep(0.01)
    order.receive(message(10, 9))
    order.receive(message(5, 3))  # arrives after all: already passed on
    assert out == [5, 9, 10] and store.reads == [3]
    order.close()


async def test_before_the_history_is_read_events_wait_for_it() -> None:
    out: list[int] = []
    store = Stored(5, 6, 7, 8)
    order = RoomOrder(lambda m: out.append(m.id), store.after)
    order.receive(message(8, 7))  # arrives before its predecessor, before any history
    order.receive(message(7, 6))
    assert out == []
    order.seen(6)  # the history the first page was given ends at 6
    assert out == [7, 8] and store.reads == []


async def test_a_gap_the_store_cannot_fill_is_skipped() -> None:
    out: list[int] = []
    order = RoomOrder(lambda m: out.append(m.id), Stored().after)
    order.seen(3)
    order.receive(message(9, 5))
    async with asyncio.timeout(5):
        while out != [9]:
            await asyncio.sleep(0.01)


async def test_in_a_new_room_the_second_message_waits_for_the_first() -> None:
    out: list[int] = []
    order = RoomOrder(lambda m: out.append(m.id), Stored(1, 2).after)
    order.seen(0)  # the room's history was empty
    order.receive(message(2, 1))
    order.receive(message(1, 0))
    assert out == [1, 2]


async def test_a_long_gap_is_read_page_by_page() -> None:
    out: list[int] = []
    ids = list(range(1, 31))
    store = Stored(*ids)
    pages = store.after

    async def ten_at_a_time(after: int) -> list[Message]:
        return (await pages(after))[:10]  # the store answers a page of messages at a time

    order = RoomOrder(lambda m: out.append(m.id), ten_at_a_time)
    order.seen(0)
    order.receive(message(30, 29))  # 1 to 29 were stored, their events lost
    async with asyncio.timeout(5):
        while len(out) < 30:
            await asyncio.sleep(0.01)
    assert out == ids


async def test_a_change_waits_behind_its_message_and_goes_in_order() -> None:
    out: list[str] = []
    order = RoomOrder(lambda m: out.append(f"message {m.id}"), Stored(5, 9).after)
    order.change(5, lambda: out.append("early edit of 5"))  # before the history is known
    order.seen(3)
    order.change(2, lambda: out.append("edit of 2"))  # shown already: goes at once
    order.receive(message(9, 5))  # early: waits for 5
    order.change(9, lambda: out.append("reaction to 9"))
    order.change(5, lambda: out.append("second edit of 5"))
    assert out == ["edit of 2"]
    order.receive(message(5, 3))
    assert out == [
        "edit of 2",
        "message 5",
        "early edit of 5",
        "second edit of 5",
        "message 9",
        "reaction to 9",
    ]
