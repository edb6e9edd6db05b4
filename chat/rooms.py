"""The domain: validate, number, store, then publish. No HTML and no sockets here."""

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from chat import inputs
from chat.broker import Broker, Event, Member
from chat.config import Settings
from chat.errors import ChatError, InvalidInput, NameTaken
from chat.i18n import N_
from chat.limits import TokenBucket
from chat.sessions import Session, Sessions, new_name
from chat.store import Message, NewMessage, Store, more_before

log = logging.getLogger(__name__)
OLDER_PAGE = 50  # messages per page of older history


def channel(room: str) -> str:
    """The broker channel that carries a room's events."""
    return f"room:{room}"


def names_of(people: list[Member]) -> list[str]:
    """People by name, in the order people read a list."""
    return sorted((m.name for m in people), key=str.casefold)


def present_of(people: list[Member]) -> dict[str, str]:
    """People as case-folded name -> key: whom an @name means."""
    return {m.name.casefold(): m.key for m in people}


async def present(broker: Broker, room: str) -> dict[str, str]:
    return present_of(await broker.members(room))


class Chat:
    """Rooms, people and messages; every change is published as an event to the room's channel."""

    def __init__(
        self, store: Store, broker: Broker, sessions: Sessions, settings: Settings
    ) -> None:
        self.store = store
        self.broker = broker
        self.sessions = sessions
        self.settings = settings
        self.on_unpublished: Callable[[str], None] | None = None  # resync local pages of a room
        self._retries: set[asyncio.Task[None]] = set()

    async def open_session(
        self, room: str, wanted_name: str | None, cursor: int, browser: str = ""
    ) -> Session:
        """A new page load in `room`: keeps the remembered name unless someone else online has
        it (the same browser reloading, or in a second tab, is not someone else)."""
        name = new_name()
        if wanted_name:
            with contextlib.suppress(NameTaken, InvalidInput):
                name = await self._free_name(room, inputs.display_name(wanted_name), "", browser)
        return self.sessions.issue(room, name, browser, cursor)

    async def post(self, session: Session, text: object, n: int | None = None) -> Message:
        """Store the next message of `session`, then publish it; raises a `ChatError` if refused.

        `n` is the number the page gave this draft: a draft that arrives again (the answer to
        the first try was lost) is recognised and not stored twice.
        """
        clean = inputs.message_text(text, self.settings.max_message_length)
        if session.posting is None:
            session.posting = asyncio.Lock()
        async with session.posting:  # one post of a page at a time: a resend waits for the first
            if n is not None and (n <= session.seq or n == session.unsure):
                stored = await self.store.numbered(session.key, n)
                if stored is not None and stored.text == clean:
                    return stored
            if session.bucket is None:
                session.bucket = TokenBucket(
                    self.settings.rate_per_second, self.settings.rate_burst
                )
            session.bucket.take()
            draft = NewMessage(
                room=session.room,
                author=session.name,
                author_key=session.key,
                n=session.seq + 1,
                text=clean,
                created_at=datetime.now(UTC),
                owner=session.owner,
            )
            try:
                message = await self.store.add(draft)
            except ChatError:
                # The database may have committed before the error reached us: a resend of
                # this number looks for it before storing it again.
                session.unsure = draft.n
                raise
            session.seq = message.n
        event = {"type": "message", "room": message.room, "message": message.to_json()}
        await self.publish(message.room, event)
        return message

    async def publish(self, room: str, event: Event) -> None:
        """A stored message (or change) is a sent one: if publishing fails, local pages are
        resynced now and the event is published again until it goes through (receivers put
        it in its place or drop it if they already have it)."""
        try:
            await self.broker.publish(channel(room), event)
        except Exception:
            log.warning(
                "a %s event of a room was stored but not published: retrying", event["type"]
            )
            if self.on_unpublished is not None:
                self.on_unpublished(room)
            task = asyncio.create_task(self._publish_later(event))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _publish_later(self, event: Event) -> None:
        """Publish again for about a minute; after that, every process has resynchronised with
        the store anyway (they do when their own broker connection comes back)."""
        delay = 0.2
        for _ in range(10):
            await asyncio.sleep(delay)
            with contextlib.suppress(Exception):
                await self.broker.publish(channel(event["room"]), event)
                return
            delay = min(delay * 2, 10.0)
        log.warning("gave up publishing a %s event again", event["type"])

    async def rename(self, session: Session, wanted: object) -> None:
        """Change the display name of `session`; it must be free among people online in the room.
        Its pages may be held by another process: the published event renames them there."""
        name = await self._free_name(
            session.room, inputs.display_name(wanted), session.key, session.tag
        )
        await self.store.save_session(dataclasses.replace(session.record(), name=name))
        old, session.name = session.name, name
        if old == name:
            return
        online = any(m.key == session.key for m in await self.broker.members(session.room))
        if online:
            await self.broker.join(session.room, self._member(session))
            await self._announce(session.room, "rename", name, session.key, old)

    async def join(self, session: Session) -> None:
        """A connection opened; the first one of a session makes the person appear online."""
        session.connections += 1
        session.ever_connected = True
        if session.connections == 1 and await self.broker.join(session.room, self._member(session)):
            await self._announce(session.room, "join", session.name, session.key)

    async def leave(self, session: Session) -> None:
        """A connection closed; the last one of a session makes the person leave."""
        session.connections -= 1
        self.sessions.touch(session)
        if session.connections:
            return
        if await self.broker.leave(session.room, session.key):
            await self._announce(session.room, "leave", session.name, session.key)
        with contextlib.suppress(ChatError):  # the database is away: upkeep marks it later
            await self.sessions.left(session)

    async def sweep(self) -> None:
        """Announce people whose process died (their presence expired) as gone."""
        for room, member in await self.broker.sweep():
            await self._announce(room, "leave", member.name, member.key)

    async def older(self, room: str, before: int) -> tuple[list[Message], int]:
        """The page of `room`'s history before message `before`, and where the next page
        starts (0: this one starts the room)."""
        page = await self.store.before(room, before, OLDER_PAGE)
        return page, more_before(page, OLDER_PAGE)

    async def active_rooms(self) -> dict[str, int]:
        return dict(sorted((await self.broker.rooms()).items()))

    @staticmethod
    def _member(session: Session) -> Member:
        return Member(key=session.key, name=session.name, browser=session.tag)

    async def _free_name(self, room: str, name: str, my_key: str, browser: str) -> str:
        for other in await self.broker.members(room):
            same_person = other.key == my_key or (browser and other.browser == browser)
            if not same_person and other.name.casefold() == name.casefold():
                raise NameTaken(
                    N_("Someone here is already called {name}. Pick another name."), name=name
                )
        return name

    async def _announce(self, room: str, kind: str, name: str, key: str, old: str = "") -> None:
        """Publish who came, went or changed name (pages then fetch the member list once for
        all the changes of a moment: see `Hub`)."""
        event: Event = {
            "type": kind,
            "room": room,
            "name": name,
            "key": key,
            "notice": {"id": secrets.token_hex(6)},
        }
        if old:
            event["old"] = old
        await self.broker.publish(channel(room), event)
