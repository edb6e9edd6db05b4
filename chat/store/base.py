"""The store interface every backend implements, and the message it keeps."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message that has been validated and numbered but not yet stored."""

    room: str
    author: str
    author_key: str
    n: int
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Message(NewMessage):
    """A stored message; `id` orders messages within a room. `prev` is the id of the room's
    message before it (known only when it was just stored): receivers restore store order."""

    id: int
    prev: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "author": self.author,
            "author_key": self.author_key,
            "n": self.n,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "prev": self.prev,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Message":
        return cls(**{**data, "created_at": datetime.fromisoformat(data["created_at"])})


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What outlives a process about a used session; `seq` is its highest stored message number."""

    key: str
    room: str
    name: str
    browser: str
    seq: int = 0
    seen_at: float = 0.0  # Unix time of its last connection or disconnection


class Store(Protocol):
    """Durable message storage; raises `StoreUnavailable` when the database cannot be reached."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def add(self, message: NewMessage) -> Message:
        """Store `message`; the result carries its id and the id of the room's one before it
        (`prev`), consistent across processes: the room's messages form one chain."""
        ...

    async def numbered(self, author_key: str, n: int) -> Message | None:
        """The message a session stored under number `n`, if any (to recognise a resend)."""
        ...

    async def recent(self, room: str, limit: int) -> list[Message]:
        """The last `limit` messages of `room`, oldest first."""
        ...

    async def after(self, room: str, after_id: int, limit: int) -> list[Message]:
        """Messages of `room` with an id above `after_id`, oldest first."""
        ...

    async def before(self, room: str, before_id: int, limit: int) -> list[Message]:
        """The last `limit` messages of `room` with an id below `before_id`, oldest first: one
        page of older history, read from the (room, id) index however long the room is."""
        ...

    async def secret(self) -> str:
        """The key that signs session ids, created once and shared by every process."""
        ...

    async def save_session(self, record: SessionRecord) -> None:
        """Insert or update a session, seen now (its `seq` is not stored: messages carry it)."""
        ...

    async def load_session(self, key: str) -> SessionRecord | None: ...

    async def touch_sessions(self, keys: list[str]) -> None:
        """Mark these sessions seen now (they are connected)."""
        ...

    async def prune_sessions(self, idle_before: float, empty_before: float) -> int:
        """Delete sessions unseen since `idle_before`, and those that never stored a message
        unseen since `empty_before` (Unix times); return how many went."""
        ...


def more_before(shown: list[Message], page_size: int) -> int:
    """Where older history starts for a list of a room's latest messages: before its first,
    unless the list is shorter than a page (then it starts the room: 0)."""
    return shown[0].id if shown and len(shown) >= page_size else 0
