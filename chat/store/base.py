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
    """A stored message; `id` orders messages within a room."""

    id: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "author": self.author,
            "author_key": self.author_key,
            "n": self.n,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
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


class Store(Protocol):
    """Durable message storage; raises `StoreUnavailable` when the database cannot be reached."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def add(self, message: NewMessage) -> Message: ...

    async def recent(self, room: str, limit: int) -> list[Message]:
        """The last `limit` messages of `room`, oldest first."""
        ...

    async def after(self, room: str, after_id: int, limit: int) -> list[Message]:
        """Messages of `room` with an id above `after_id`, oldest first."""
        ...

    async def secret(self) -> str:
        """The key that signs session ids, created once and shared by every process."""
        ...

    async def save_session(self, record: SessionRecord) -> None:
        """Insert or update a session (its `seq` is not stored: messages carry it)."""
        ...

    async def load_session(self, key: str) -> SessionRecord | None: ...
