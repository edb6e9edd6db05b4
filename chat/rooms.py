"""The domain: validate, number, store, then publish. No HTML and no sockets here."""

import contextlib
import dataclasses
import secrets
from datetime import UTC, datetime

from chat import inputs
from chat.broker import Broker, Event, Member
from chat.config import Settings
from chat.errors import InvalidInput, NameTaken
from chat.limits import TokenBucket
from chat.sessions import Session, Sessions, new_name
from chat.store import Message, NewMessage, Store


def channel(room: str) -> str:
    """The broker channel that carries a room's events."""
    return f"room:{room}"


async def member_names(broker: Broker, room: str) -> list[str]:
    """Who is online in `room`, by name, in the order people read a list."""
    return sorted((m.name for m in await broker.members(room)), key=str.casefold)


class Chat:
    """Rooms, people and messages; every change is published as an event to the room's channel."""

    def __init__(
        self, store: Store, broker: Broker, sessions: Sessions, settings: Settings
    ) -> None:
        self.store = store
        self.broker = broker
        self.sessions = sessions
        self.settings = settings

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

    async def post(self, session: Session, text: object) -> Message:
        """Store the next message of `session`, then publish it; raises a `ChatError` if refused."""
        clean = inputs.message_text(text, self.settings.max_message_length)
        if session.bucket is None:
            session.bucket = TokenBucket(self.settings.rate_per_second, self.settings.rate_burst)
        session.bucket.take()
        async with self.broker.ordered(channel(session.room)):
            draft = NewMessage(
                room=session.room,
                author=session.name,
                author_key=session.key,
                n=session.seq + 1,
                text=clean,
                created_at=datetime.now(UTC),
            )
            message = await self.store.add(draft)
            session.seq = message.n
            event = {"type": "message", "room": session.room, "message": message.to_json()}
            await self.broker.publish(channel(session.room), event)
        return message

    async def rename(self, session: Session, wanted: object) -> None:
        """Change the display name of `session`; it must be free among people online in the room."""
        name = await self._free_name(
            session.room, inputs.display_name(wanted), session.key, session.browser
        )
        await self.store.save_session(dataclasses.replace(session.record(), name=name))
        old, session.name = session.name, name
        if old != name and session.connections:
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
        if session.connections == 0 and await self.broker.leave(session.room, session.key):
            await self._announce(session.room, "leave", session.name, session.key)

    async def sweep(self) -> None:
        """Announce people whose process died (their presence expired) as gone."""
        for room, member in await self.broker.sweep():
            await self._announce(room, "leave", member.name, member.key)

    async def members(self, room: str) -> list[str]:
        return await member_names(self.broker, room)

    async def active_rooms(self) -> dict[str, int]:
        return dict(sorted((await self.broker.rooms()).items()))

    @staticmethod
    def _member(session: Session) -> Member:
        return Member(key=session.key, name=session.name, browser=session.browser)

    async def _free_name(self, room: str, name: str, my_key: str, browser: str) -> str:
        for other in await self.broker.members(room):
            same_person = other.key == my_key or (browser and other.browser == browser)
            if not same_person and other.name.casefold() == name.casefold():
                raise NameTaken(f"Someone here is already called {name}. Pick another name.")
        return name

    async def _announce(self, room: str, kind: str, name: str, key: str, old: str = "") -> None:
        """Publish who came, went or changed name (pages then fetch the member list once for
        all the changes of a moment: see `Hub`)."""
        text = {"join": f"{name} joined", "leave": f"{name} left", "rename": f"{old} is now {name}"}
        event: Event = {
            "type": kind,
            "room": room,
            "name": name,
            "key": key,
            "notice": {"id": secrets.token_hex(6), "text": text[kind]},
        }
        if old:
            event["old"] = old
        await self.broker.publish(channel(room), event)
