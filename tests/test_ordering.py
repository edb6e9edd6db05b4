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


async def test_before_the_room_is_known_events_pass_and_history_catches_up() -> None:
    out: list[int] = []
    order = RoomOrder(lambda m: out.append(m.id), Stored().after)
    order.receive(message(7, 6))
    order.seen(5)  # the history read before 7 arrived
    order.receive(message(8, 7))
    order.receive(message(6, 5))  # older than what was passed on
    assert out == [7, 8]


async def test_in_a_new_room_the_second_message_waits_for_the_first() -> None:
    out: list[int] = []
    order = RoomOrder(lambda m: out.append(m.id), Stored(1, 2).after)
    order.seen(0)  # the room's history was empty
    order.receive(message(2, 1))
    order.receive(message(1, 0))
    assert out == [1, 2]
