"""One contract, every broker: the same cases over memory:// and a real Redis."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from chat.broker import Broker, Event, Member, open_broker
from tests.servers import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
async def broker(broker_url: str) -> AsyncIterator[Broker]:
    opened = open_broker(broker_url, presence_timeout=0.5)
    await opened.start()
    yield opened
    await opened.close()


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` (polling a state, not sleeping for a fixed time)."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def a_channel() -> str:
    return "room:" + uuid.uuid4().hex[:10]


async def test_events_reach_every_subscriber_once_in_order(broker: Broker) -> None:
    channel, other = a_channel(), a_channel()
    first: list[Event] = []
    second: list[Event] = []
    elsewhere: list[Event] = []
    await broker.subscribe(channel, first.append)
    await broker.subscribe(channel, second.append)
    await broker.subscribe(other, elsewhere.append)
    await asyncio.sleep(0)  # let a subscription reach the server
    events = [{"type": "message", "room": channel, "n": n, "text": "ü<b>"} for n in range(50)]
    for event in events:
        await broker.publish(channel, event)
    await until(lambda: len(first) == 50 and len(second) == 50)
    assert first == second == events
    assert elsewhere == []


async def test_unsubscribed_handlers_hear_nothing_more(broker: Broker) -> None:
    channel = a_channel()
    heard: list[Event] = []
    kept: list[Event] = []
    await broker.subscribe(channel, heard.append)
    await broker.subscribe(channel, kept.append)
    await broker.publish(channel, {"n": 1})
    await until(lambda: len(heard) == 1 and len(kept) == 1)
    await broker.unsubscribe(channel, heard.append)
    await broker.publish(channel, {"n": 2})
    await until(lambda: len(kept) == 2)
    assert heard == [{"n": 1}]


async def test_a_failing_handler_is_skipped_and_the_next_events_arrive(broker: Broker) -> None:
    channel, heard = a_channel(), []

    def fragile(event: Event) -> None:
        if event["n"] == 1:
            raise RuntimeError("a bug in one delivery")
        heard.append(event)

    await broker.subscribe(channel, fragile)
    await broker.publish(channel, {"n": 1})  # the publisher is not told about the handler's bug
    await broker.publish(channel, {"n": 2})
    await until(lambda: heard == [{"n": 2}])


async def test_presence_join_leave_members_and_rooms(broker: Broker) -> None:
    room = a_channel().removeprefix("room:")
    ann, bob = Member("k1", "Ann", "b1"), Member("k2", "Bob", "b2")
    assert await broker.join(room, ann) is True
    assert await broker.join(room, ann) is False
    assert await broker.join(room, bob) is True
    assert sorted(m.name for m in await broker.members(room)) == ["Ann", "Bob"]
    assert (await broker.rooms())[room] == 2
    await broker.join(room, Member("k1", "Annie", "b1"))
    assert sorted(m.name for m in await broker.members(room)) == ["Annie", "Bob"]
    assert await broker.leave(room, "k1") is True
    assert await broker.leave(room, "k1") is False
    assert [m.name for m in await broker.members(room)] == ["Bob"]
    await broker.leave(room, "k2")
    assert room not in await broker.rooms()


@pytest.mark.redis
async def test_presence_of_a_dead_process_expires(redis_server: RedisServer) -> None:
    room = a_channel().removeprefix("room:")
    dead, alive = open_broker(redis_server.url, 0.3), open_broker(redis_server.url, 0.3)
    await dead.start()
    await alive.start()
    try:
        await dead.join(room, Member("k1", "Ghost", ""))
        await alive.join(room, Member("k2", "Alive", ""))
        await dead.close()  # never keeps its member alive again
        gone: list[tuple[str, Member]] = []

        async def swept() -> bool:
            await alive.keep_alive(room, [Member("k2", "Alive", "")])
            # (the Redis server is the run's: other tests' dead processes may be swept too)
            gone.extend(g for g in await alive.sweep() if g[0] == room)
            return bool(gone)

        deadline = asyncio.get_running_loop().time() + 5
        while not await swept():
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        assert gone == [(room, Member("k1", "Ghost", ""))]
        assert [m.name for m in await alive.members(room)] == ["Alive"]
    finally:
        await alive.close()
