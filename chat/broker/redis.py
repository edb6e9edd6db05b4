"""The Redis broker: pub/sub fan-out between processes, and presence with expiry."""

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat.broker.base import Event, Handler, Member
from chat.errors import ChatError
from chat.i18n import N_
from chat.supervise import supervised

log = logging.getLogger(__name__)
ROOMS = "chat:presence:rooms"


class BrokerUnavailable(ChatError):
    """Redis cannot be reached: nothing was stored or sent."""

    status = 503
    code = "broker_unavailable"
    close_code = 1013


def _unavailable(cause: BaseException | None = None) -> BrokerUnavailable:
    log.warning("Redis is unavailable: %s", cause or "no answer in time")
    return BrokerUnavailable(
        N_("The chat is briefly unavailable, so your message was not sent. Try again.")
    )


class RedisBroker:
    """One pub/sub connection per process, subscribed once per room that has local pages."""

    def __init__(self, url: str, presence_timeout: float = 15.0) -> None:
        self.on_resync: Callable[[], None] | None = None
        # A pooled connection left over from before a Redis restart fails once: retry on a new one.
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=5,
            socket_connect_timeout=2,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        self.presence_timeout = presence_timeout
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._connected = asyncio.Event()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._pubsub: redis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.redis.ping()
        except RedisError as exc:
            raise RuntimeError(f"Cannot reach Redis: {exc}") from exc
        self._reader = asyncio.create_task(supervised("the Redis reader", self._read_forever))
        await asyncio.wait_for(self._connected.wait(), timeout=10)

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.redis.aclose()

    async def publish(self, channel: str, event: Event) -> None:
        try:
            await self.redis.publish(channel, json.dumps(event))
        except RedisError as exc:
            raise _unavailable(exc) from exc

    async def subscribe(self, channel: str, handler: Handler) -> None:
        first = not self._handlers[channel]
        self._handlers[channel].append(handler)
        if first and self._pubsub is not None:
            confirmed = self._confirmed.setdefault(channel, asyncio.Event())
            # If this fails or times out, the reader resubscribes and resyncs when it reconnects.
            with contextlib.suppress(RedisError, TimeoutError):
                await self._pubsub.subscribe(channel)
                await asyncio.wait_for(confirmed.wait(), timeout=2)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]
                self._confirmed.pop(channel, None)
                if self._pubsub is not None:
                    with contextlib.suppress(RedisError):
                        await self._pubsub.unsubscribe(channel)

    async def _read_forever(self) -> None:
        """Dispatch messages; after any failure reconnect with backoff, resubscribe, resync."""
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe("chat:control", *self._handlers)
                self._pubsub = pubsub
                if self._connected.is_set():
                    log.warning("Redis is back: resynchronising every page of this process")
                self._connected.set()
                if self.on_resync is not None:
                    self.on_resync()
                delay = 0.1
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._dispatch(str(message["channel"]), str(message["data"]))
                    elif message["type"] == "subscribe":
                        self._confirmed.setdefault(str(message["channel"]), asyncio.Event()).set()
            except (RedisError, OSError) as exc:
                log.warning("lost Redis (%s); reconnecting in %.1fs", exc, delay)
            except Exception:
                log.exception("the Redis reader failed; reconnecting in %.1fs", delay)
            finally:
                self._pubsub = None
                self._confirmed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, channel: str, data: str) -> None:
        """Hand one event to its handlers; a malformed event or a failing handler is logged and
        skipped, never allowed to stop the reader."""
        try:
            event = json.loads(data)
        except ValueError:
            log.warning("skipped a malformed event on %s: %.200r", channel, data)
            return
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(event)
            except Exception:
                log.exception("a handler failed on an event of %s", channel)

    def _keys(self, room: str) -> tuple[str, str]:
        return f"chat:presence:{room}", f"chat:names:{room}"

    async def join(self, room: str, member: Member) -> bool:
        expiry, names = self._keys(room)
        value = json.dumps({"name": member.name, "browser": member.browser})
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(expiry, {member.key: time.time() + self.presence_timeout})
                pipe.hset(names, member.key, value)
                pipe.sadd(ROOMS, room)
                added, *_ = await pipe.execute()
        except RedisError as exc:
            raise _unavailable(exc) from exc
        return bool(added)

    async def leave(self, room: str, key: str) -> bool:
        expiry, names = self._keys(room)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(expiry, key)
                pipe.hdel(names, key)
                removed, _ = await pipe.execute()
        except RedisError as exc:
            raise _unavailable(exc) from exc
        return bool(removed)

    async def members(self, room: str) -> list[Member]:
        expiry, names = self._keys(room)
        try:
            keys = [str(k) for k in await self.redis.zrangebyscore(expiry, time.time(), "+inf")]
            values = await self.redis.hmget(names, keys) if keys else []
        except RedisError as exc:
            raise _unavailable(exc) from exc
        found = []
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                data = json.loads(value)
                found.append(Member(key=key, name=data["name"], browser=data["browser"]))
        return found

    async def rooms(self) -> dict[str, int]:
        try:
            rooms = sorted(str(r) for r in await self.redis.smembers(ROOMS))
            async with self.redis.pipeline(transaction=False) as pipe:
                for room in rooms:
                    pipe.zcount(self._keys(room)[0], time.time(), "+inf")
                counts = await pipe.execute()
        except RedisError as exc:
            raise _unavailable(exc) from exc
        return {room: count for room, count in zip(rooms, counts, strict=True) if count}

    async def keep_alive(self, room: str, members: list[Member]) -> None:
        if not members:
            return
        expiry, names = self._keys(room)
        expires = time.time() + self.presence_timeout
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(expiry, {m.key: expires for m in members})
            for m in members:
                pipe.hset(names, m.key, json.dumps({"name": m.name, "browser": m.browser}))
            pipe.sadd(ROOMS, room)
            await pipe.execute()

    async def sweep(self) -> list[tuple[str, Member]]:
        gone: list[tuple[str, Member]] = []
        for room in [str(r) for r in await self.redis.smembers(ROOMS)]:
            expiry, names = self._keys(room)
            for raw in await self.redis.zrangebyscore(expiry, "-inf", time.time()):
                key = str(raw)
                value = await self.redis.hget(names, key)
                if await self.redis.zrem(expiry, key):  # only one process wins each removal
                    await self.redis.hdel(names, key)
                    data = json.loads(value) if value else {"name": key, "browser": ""}
                    gone.append((room, Member(key=key, name=data["name"], browser=data["browser"])))
            if not await self.redis.zcard(expiry):
                await self.redis.srem(ROOMS, room)
        return gone
