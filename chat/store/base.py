"""The store interface every backend implements, and the message it keeps."""

from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Any, Protocol

REACTIONS = ("👍", "❤️", "😂", "🎉", "😮")  # the reactions people can give, in this order


@dataclass(frozen=True, slots=True)
class Reaction:
    """One kind of reaction to a message: who gave it (names to show, owners to match), in the
    order they reacted."""

    emoji: str
    names: tuple[str, ...]
    owners: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"emoji": self.emoji, "names": list(self.names), "owners": list(self.owners)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Reaction":
        return cls(data["emoji"], tuple(data["names"]), tuple(data["owners"]))


def gathered(rows: list[tuple[Any, ...]]) -> dict[int, tuple[Reaction, ...]]:
    """Reactions by message from (message id, emoji, owner, name) rows in the order given,
    each message's kinds in the order of `REACTIONS`."""
    found: dict[int, dict[str, tuple[list[str], list[str]]]] = {}
    for message_id, emoji, owner, name in rows:
        names, owners = found.setdefault(message_id, {}).setdefault(emoji, ([], []))
        names.append(name)
        owners.append(owner)
    order = {emoji: i for i, emoji in enumerate(REACTIONS)}
    return {
        message_id: tuple(
            Reaction(emoji, tuple(names), tuple(owners))
            for emoji, (names, owners) in sorted(kinds.items(), key=lambda k: order.get(k[0], 99))
        )
        for message_id, kinds in found.items()
    }


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message that has been validated and numbered but not yet stored. `owner` is the
    public tag of the browser (or client) that wrote it: who may edit or delete it."""

    room: str
    author: str
    author_key: str
    n: int
    text: str
    created_at: datetime
    _: KW_ONLY
    owner: str = ""


@dataclass(frozen=True, slots=True)
class Message(NewMessage):
    """A stored message; `id` orders messages within a room. `prev` is the id of the room's
    message before it (known only when it was just stored): receivers restore store order."""

    id: int
    prev: int = 0
    _: KW_ONLY
    edited_at: datetime | None = None
    deleted_at: datetime | None = None  # a deleted message keeps its place, not its text
    changed_at: datetime | None = None  # its last edit, delete or reaction
    version: int = 0  # how many times it changed: of two states, the higher is the newer
    reactions: tuple[Reaction, ...] = ()

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "author": self.author,
            "author_key": self.author_key,
            "owner": self.owner,
            "n": self.n,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "prev": self.prev,
            "edited_at": _iso(self.edited_at),
            "deleted_at": _iso(self.deleted_at),
            "changed_at": _iso(self.changed_at),
            "version": self.version,
            "reactions": [r.to_json() for r in self.reactions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Message":
        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "edited_at": _moment(data.get("edited_at")),
                "deleted_at": _moment(data.get("deleted_at")),
                "changed_at": _moment(data.get("changed_at")),
                "reactions": tuple(Reaction.from_json(r) for r in data.get("reactions", ())),
            }
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


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

    async def get(self, room: str, message_id: int) -> Message | None:
        """Message `message_id` of `room` as it is now (edited, deleted, its reactions)."""
        ...

    async def edit(self, room: str, message_id: int, text: str, at: datetime) -> Message | None:
        """Replace the text of a message that is not deleted; None if there is none."""
        ...

    async def delete(self, room: str, message_id: int, at: datetime) -> Message | None:
        """Forget a message's text and reactions, keeping its place; None if already gone."""
        ...

    async def react(
        self, room: str, message_id: int, emoji: str, owner: str, name: str, at: datetime
    ) -> tuple[Reaction, ...] | None:
        """Give `owner`'s `emoji` to a message, or take it back if given: the message's
        reactions after that, or None if the message is deleted or unknown."""
        ...

    async def search(
        self, room: str, words: list[str], limit: int, before: int | None = None
    ) -> list[Message]:
        """Messages of `room` holding every one of `words`, newest first (below id `before`),
        found by the database's own full-text index."""
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
