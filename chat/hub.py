"""The hub: which connections of this process are in which room, and the fan-out to them.

It subscribes once per room to the broker and turns each event into frames once per format.
"""

import asyncio
import dataclasses
import itertools
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Coroutine
from typing import Any

from chat.broker import Broker, Event, Member
from chat.connection import Connection, Outbox
from chat.errors import ChatError
from chat.formats import Around, Format, Reacted
from chat.ordering import RoomOrder
from chat.rooms import channel, names_of, present_of
from chat.sockets import websocket_frame
from chat.store import Message, Store, more_before

log = logging.getLogger(__name__)
PRESENCE_GATHERING = 0.5  # seconds a room's presence changes wait to go out together
RELOAD_GRACE = 4.0  # seconds a leave waits: a join under the same name in time is a reload
NOTICES_KEPT = 20  # notices a page keeps; older ones are removed as new ones come
VERSIONS_KEPT = 10_000  # changed messages a room remembers the newest state of


class Hub:
    """Subscribes once per room to the broker and renders each event once per format."""

    def __init__(self, broker: Broker, history_size: int, store: Store) -> None:
        self.broker = broker
        self.store = store
        self.history_size = history_size
        self.rooms: defaultdict[str, set[Connection]] = defaultdict(set)
        self.per_address: Counter[str] = Counter()
        self.seeded: set[str] = set()  # rooms whose history this process has seen
        self._tasks: set[asyncio.Task[None]] = set()
        self._presence: dict[str, list[Event]] = {}
        self._presence_due: set[str] = set()
        self._leaving: dict[tuple[str, str], tuple[Event, asyncio.TimerHandle]] = {}
        self._notices: dict[str, deque[str]] = {}
        self.last: dict[str, Message] = {}  # each room's newest message, to group the next
        self.present: dict[str, dict[str, str]] = {}  # each room's people: name -> key
        self.versions: dict[str, dict[int, int]] = {}  # each room's changed messages: version
        self.orders: dict[str, RoomOrder] = {}
        self.outbox = Outbox()

    async def heartbeat_forever(self, interval: float) -> None:
        """Re-send the "online" status so pages can show "offline" when it stops arriving."""
        for beat in itertools.cycle(("odd", "even")):
            await asyncio.sleep(interval)
            for room in list(self.rooms):
                self._broadcast([room], lambda f, r=room, b=beat: f.status(r, b))  # type: ignore[misc]

    async def attach(self, connection: Connection) -> None:
        room = connection.session.room
        first = not self.rooms[room]
        self.rooms[room].add(connection)
        self.per_address[connection.address] += 1
        if first:
            self.orders[room] = RoomOrder(
                self._send_message, lambda after: self.store.after(room, after, self.history_size)
            )
            await self.broker.subscribe(channel(room), self.deliver)

    async def detach(self, connection: Connection) -> None:
        room = connection.session.room
        connections = self.rooms.get(room)
        if connections is None or connection not in connections:
            return
        connections.discard(connection)
        self.per_address[connection.address] -= 1
        if not self.per_address[connection.address]:
            del self.per_address[connection.address]
        if not connections:
            del self.rooms[room]
            self.seeded.discard(room)
            self.last.pop(room, None)
            self.present.pop(room, None)
            self.versions.pop(room, None)
            self._notices.pop(room, None)
            if order := self.orders.pop(room, None):
                order.close()
            await self.broker.unsubscribe(channel(room), self.deliver)

    def remember(self, room: str, history: list[Message]) -> None:
        """Seed what pushes to `room` build on: its newest message (grouping) and where its
        order starts."""
        if room in self.rooms and room not in self.seeded:
            self.seeded.add(room)
            self._seen_states(room, history)
            if history:
                self.last[room] = history[-1]
            if order := self.orders.get(room):
                order.seen(history[-1].id if history else 0)  # an empty room starts at 0

    def _seen_states(self, room: str, shown: list[Message]) -> None:
        """Pages show these states of these messages: events of older ones are stale."""
        seen = self.versions.setdefault(room, {})
        for message in shown:
            if message.version > seen.get(message.id, -1):
                seen[message.id] = message.version
        while len(seen) > VERSIONS_KEPT:
            del seen[next(iter(seen))]

    def online(self) -> dict[str, list[Member]]:
        """The people connected to this process, by room."""
        return {
            room: [
                Member(key=s.key, name=s.name, browser=s.tag)
                for s in {c.session for c in connections}
            ]
            for room, connections in self.rooms.items()
        }

    def connected_keys(self) -> list[str]:
        """The public keys of the sessions connected to this process."""
        return list({c.session.key for cs in self.rooms.values() for c in cs})

    def resync_soon(self) -> None:
        """The broker may have missed events: re-send every local page its room's history."""
        for room in list(self.rooms):
            self._start(self._resync, room)

    def _start(self, work: Callable[[str], Coroutine[Any, Any, None]], room: str) -> None:
        task = asyncio.create_task(work(room))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync(self, room: str) -> None:
        try:
            recent = await self.store.recent(room, self.history_size)
        except ChatError:
            log.warning("cannot resynchronise room %s: the store is away", room)
            return
        if recent:
            before = more_before(recent, self.history_size)
            around = Around(present=self.present.get(room, {}))
            render: Callable[[Format], str] = lambda f: f.messages(  # noqa: E731
                room, recent, replace=True, before=before, around=around
            )
            self._broadcast([room], render, recent[-1].id)
            self.last[room] = recent[-1]
            self._seen_states(room, recent)
            if order := self.orders.get(room):
                order.seen(recent[-1].id)

    def counts(self) -> dict[str, int]:
        return {room: len(connections) for room, connections in sorted(self.rooms.items())}

    def deliver(self, event: Event) -> None:
        """Broker handler: turn the event into a frame once per format, queue it for everyone.
        An event that cannot be delivered is logged and skipped; the next ones still go out."""
        try:
            room = event["room"]
            if room not in self.rooms:
                return
            if event["type"] == "message":
                self.orders[room].receive(Message.from_json(event["message"]))
                return
            if event["type"] in {"edit", "delete", "react"}:
                message = Message.from_json(event["message"])
                previous = event.get("previous")
                earlier = Message.from_json(previous) if previous else None
                versioned = "version" in event["message"]  # (a process of an older release: no)
                kind = event["type"]
                change = lambda: self._send_change(kind, message, earlier, versioned)  # noqa: E731
                self.orders[room].change(message.id, change)
                return
            if event["type"] == "rename":
                for connection in self.rooms[room]:
                    if connection.session.key == event["key"]:
                        connection.session.name = event["name"]  # renamed via another process
            self._presence_event(room, event)
        except Exception:
            log.exception("could not deliver an event (skipped): %.300r", event)

    def _send_message(self, message: Message) -> None:
        """A room's next message, in store order, after the notices gathered before it (your
        own arrival comes before your first message)."""
        if events := self._presence.get(message.room):
            self._presence[message.room] = []
            self._send_notices(message.room, events, None)
        previous, self.last[message.room] = self.last.get(message.room), message
        self._seen_states(message.room, [message])
        around = Around(previous, self.present.get(message.room, {}))
        render: Callable[[Format], str] = lambda f: f.message(message, around)  # noqa: E731
        self._broadcast([message.room], render, message.id)

    def _send_change(
        self, kind: str, message: Message, previous: Message | None, versioned: bool
    ) -> None:
        """A message as it is now, once its own event has gone out (rendered once per format).

        Changes stored by several processes may be published out of the order they were
        stored in: a state older than one already passed on is dropped. A reaction right
        after the state pages have goes out as the reactions alone (an open picker stays
        open); after a gap, as the whole message (it holds what the missing events changed)."""
        known = self.versions.get(message.room, {}).get(message.id)
        if versioned and known is not None and message.version <= known:
            return
        self._seen_states(message.room, [message])
        render: Callable[[Format], str]
        if kind == "react" and known is not None and message.version == known + 1:
            reacted = Reacted(message.id, message.reactions)
            render = lambda f: f.reacted(message.room, reacted)  # noqa: E731
            self._broadcast([message.room], render)
            return
        last = self.last.get(message.room)
        if last is not None and last.id == message.id:  # a group a notice ended stays ended
            self.last[message.room] = dataclasses.replace(message, author_key=last.author_key)
        around = Around(previous, self.present.get(message.room, {}))
        render = lambda f: f.changed(message, around)  # noqa: E731
        self._broadcast([message.room], render)

    def resync_room(self, room: str) -> None:
        """Re-send local pages of `room` its history (a message was stored but not published)."""
        if room in self.rooms:
            self._start(self._resync, room)

    def _presence_event(self, room: str, event: Event) -> None:
        """A reload (a leave, then a join under the same name within `RELOAD_GRACE`) is told
        to nobody; the member list still refreshes."""
        loop = asyncio.get_running_loop()
        person = (room, str(event["name"]).casefold())
        if event["type"] == "leave":
            if held := self._leaving.pop(person, None):
                held[1].cancel()
            timer = loop.call_later(RELOAD_GRACE, self._left, person)
            self._leaving[person] = (event, timer)
            return
        if event["type"] == "join" and (held := self._leaving.pop(person, None)):
            held[1].cancel()
            self._gather_presence(room, None)
            return
        self._gather_presence(room, event)

    def saw(self, room: str, people: list[Member]) -> dict[str, str]:
        """Who is in `room` now, for @mentions in the next pushes (name -> key)."""
        self.present[room] = present_of(people)
        return self.present[room]

    def presence_due(self, room: str) -> bool:
        """Is the member list of `room` about to go out to all its connections?"""
        return room in self._presence_due

    def _left(self, person: tuple[str, str]) -> None:
        if held := self._leaving.pop(person, None):
            self._gather_presence(person[0], held[0])

    def _gather_presence(self, room: str, event: Event | None) -> None:
        """Presence goes out a moment later, every change of that moment together with the
        member list once: a thousand people arriving cost a few pushes, not a million."""
        pending = self._presence.setdefault(room, [])
        if event is not None:
            pending.append(event)
        if room not in self._presence_due:
            self._presence_due.add(room)
            loop = asyncio.get_running_loop()
            loop.call_later(PRESENCE_GATHERING, self._start, self._send_presence, room)

    async def _send_presence(self, room: str) -> None:
        self._presence_due.discard(room)
        events = self._presence.pop(room, [])
        if room not in self.rooms:
            return
        try:
            people = await self.broker.members(room)
        except ChatError:  # the broker is away: the notices still go out
            members = None
        else:
            members = names_of(people)
            self.saw(room, people)
        self._send_notices(room, events, members)

    def _send_notices(self, room: str, events: list[Event], members: list[str] | None) -> None:
        """Notices (and the member list, when known); pages drop the ones past `NOTICES_KEPT`."""
        if not events and members is None:
            return
        if events and (last := self.last.get(room)):  # a notice ends the group above it
            self.last[room] = dataclasses.replace(last, author_key="")
        kept = self._notices.setdefault(room, deque())
        dropped: list[str] = []
        for event in events:
            kept.append(event["notice"]["id"])
            if len(kept) > NOTICES_KEPT:
                dropped.append(kept.popleft())
        self._broadcast([room], lambda f: f.presence(room, events, members, dropped))

    def _broadcast(
        self, rooms: list[str], render: Callable[[Format], str | list[str]], message_id: int = 0
    ) -> None:
        """Send what `render` makes to every connection in `rooms`: rendered once per format,
        framed once, the same bytes written to every socket that can take them now."""
        made: dict[int, list[tuple[str, bytes]]] = {}
        for room in rooms:
            for connection in list(self.rooms.get(room, ())):
                frames = made.get(id(connection.format))
                if frames is None:
                    try:
                        rendered = render(connection.format)
                    except Exception:  # a bug or a template error: the other formats still go
                        log.exception("could not render for %s", type(connection.format).__name__)
                        rendered = ""
                    texts = [rendered] if isinstance(rendered, str) else rendered
                    frames = [(text, websocket_frame(text)) for text in texts if text]
                    made[id(connection.format)] = frames
                for text, framed in frames:
                    connection.push(text, message_id, framed)
