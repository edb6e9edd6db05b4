"""Live connections of this process: bounded send queues, and the hub that fans events out."""

import asyncio
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from chat.broker import Broker, Event, Member
from chat.errors import ChatError
from chat.formats import Format
from chat.limits import TokenBucket
from chat.rooms import channel
from chat.sessions import Session
from chat.store import Message, Store

log = logging.getLogger(__name__)


class Connection:
    """One open WebSocket. Frames wait in a bounded queue; a reader that falls behind is dropped."""

    def __init__(
        self,
        websocket: WebSocket,
        session: Session,
        queue_size: int,
        bucket: TokenBucket,
        address: str,
        format: Format,
    ) -> None:
        self.websocket = websocket
        self.session = session
        self.format = format
        self.bucket = bucket
        self.address = address
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(queue_size)
        self.floor = 0
        self.overflowed = asyncio.Event()

    def push(self, frame: str, message_id: int = 0) -> None:
        """Queue a frame without waiting; on overflow the connection is marked for closing."""
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait((message_id, frame))
        except asyncio.QueueFull:
            log.warning(
                "dropping a connection in room %s: its reader fell behind", self.session.room
            )
            self.overflowed.set()

    async def write_forever(self) -> None:
        """Send queued frames in order, skipping messages the page already has; stop when closed."""
        while True:
            message_id, frame = await self.queue.get()
            if message_id:
                if message_id <= self.floor:
                    continue
                self.floor = message_id
            try:
                await self.websocket.send_text(frame)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return


class Hub:
    """Subscribes once per room to the broker and renders each event once per format."""

    def __init__(self, broker: Broker, history_size: int, store: Store | None = None) -> None:
        self.broker = broker
        self.store = store
        self.history_size = history_size
        self.rooms: defaultdict[str, set[Connection]] = defaultdict(set)
        self.per_address: Counter[str] = Counter()
        self.windows: dict[str, deque[int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def heartbeat_forever(self, interval: float) -> None:
        """Re-send the "online" status so pages can show "offline" when it stops arriving."""
        while True:
            await asyncio.sleep(interval)
            self._broadcast(list(self.rooms), lambda f: f.status())

    async def attach(self, connection: Connection) -> None:
        room = connection.session.room
        first = not self.rooms[room]
        self.rooms[room].add(connection)
        self.per_address[connection.address] += 1
        if first:
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
            self.windows.pop(room, None)
            await self.broker.unsubscribe(channel(room), self.deliver)

    def remember(self, room: str, history: list[Message]) -> None:
        """Seed the ids of the messages pages of `room` show, so pushes can drop the oldest."""
        if room in self.rooms and room not in self.windows:
            self.windows[room] = deque((m.id for m in history), maxlen=self.history_size)

    def online(self) -> dict[str, list[Member]]:
        """The people connected to this process, by room."""
        return {
            room: [
                Member(key=s.key, name=s.name, browser=s.browser)
                for s in {c.session for c in connections}
            ]
            for room, connections in self.rooms.items()
        }

    def resync_soon(self) -> None:
        """The broker may have missed events: re-send every local page its room's history."""
        for room in list(self.rooms):
            task = asyncio.create_task(self._resync(room))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resync(self, room: str) -> None:
        if self.store is None:
            return
        try:
            recent = await self.store.recent(room, self.history_size)
        except ChatError:
            log.warning("cannot resynchronise room %s: the store is away", room)
            return
        if recent:
            self._broadcast([room], lambda f: f.messages(room, recent, replace=True), recent[-1].id)

    def counts(self) -> dict[str, int]:
        return {room: len(connections) for room, connections in sorted(self.rooms.items())}

    def deliver(self, event: Event) -> None:
        """Broker handler: turn the event into a frame once per format, queue it for everyone."""
        room = event["room"]
        if room not in self.rooms:
            return
        if event["type"] == "message":
            message = Message.from_json(event["message"])
            evicted = self._evict(message)
            self._broadcast([room], lambda f: f.message(message, evicted), message.id)
        else:
            self._broadcast([room], lambda f: f.presence(event))

    def _broadcast(
        self, rooms: list[str], render: Callable[[Format], str], message_id: int = 0
    ) -> None:
        frames: dict[int, str] = {}
        for room in rooms:
            for connection in list(self.rooms.get(room, ())):
                key = id(connection.format)
                if key not in frames:
                    frames[key] = render(connection.format)
                if frames[key]:
                    connection.push(frames[key], message_id)

    def _evict(self, message: Message) -> list[int]:
        """Pages keep the last `history_size` messages: the one that falls off the end."""
        window = self.windows.get(message.room)
        if window is None:
            return []
        evicted = [window[0]] if len(window) == window.maxlen else []
        window.append(message.id)
        return evicted
