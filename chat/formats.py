"""What a connection receives: HTML fragments for htmx pages, or JSON events (`chat.v1.json`).

Each event is turned into a frame once per format, never once per recipient.
"""

import json
from typing import Any, Protocol

from chat.broker import Event
from chat.errors import ChatError
from chat.rendering import Renderer
from chat.sessions import Session
from chat.store import Message

ROOM = "room.html"
JSON_SUBPROTOCOL = "chat.v1.json"


class Format(Protocol):
    joins_frames: bool  # may frames queued together be sent as one WebSocket message?

    def messages(self, room: str, messages: list[Message], *, replace: bool) -> str:
        """New messages to append, or (`replace`) the room's whole recent list."""
        ...

    def message(self, message: Message, evicted: list[int]) -> str: ...

    def presence(self, room: str, events: list[Event], members: list[str] | None) -> list[str]:
        """Who came, went or changed name lately and, when known, who is here now."""
        ...

    def members(self, room: str, members: list[str]) -> str: ...

    def welcome(self, session: Session) -> str: ...

    def sent(self, session: Session, message: Message) -> str: ...

    def named(self, session: Session) -> str: ...

    def error(self, error: ChatError) -> str: ...

    def status(self) -> str: ...


class HtmlFormat:
    """Blocks of templates/room.html, marked for htmx's out-of-band swaps.

    htmx swaps every top-level element of a frame, so fragments queued together travel as one.
    """

    joins_frames = True

    def __init__(self, renderer: Renderer, max_length: int) -> None:
        self.renderer = renderer
        self.max_length = max_length
        self._status = renderer.block(ROOM, "status", status_state="online", oob=True)

    def messages(self, room: str, messages: list[Message], *, replace: bool) -> str:
        if not (messages or replace):
            return ""
        oob = "true" if replace else "beforeend"
        return self.renderer.block(ROOM, "messages", messages=messages, oob=oob)

    def message(self, message: Message, evicted: list[int]) -> str:
        return self.renderer.block(ROOM, "pushed", m=message, evicted=evicted)

    def presence(self, room: str, events: list[Event], members: list[str] | None) -> list[str]:
        notices = self.renderer.block(ROOM, "notices", notices=[e["notice"] for e in events])
        return [notices + (self.members(room, members) if members is not None else "")]

    def members(self, room: str, members: list[str]) -> str:
        return self.renderer.block(ROOM, "members", members=members, oob="true")

    def welcome(self, session: Session) -> str:
        return ""

    def sent(self, session: Session, message: Message) -> str:
        """The sender's composer again, empty and focused (htmx does not reset the form), with
        the number of the next draft."""
        return self.renderer.block(
            ROOM,
            "composer",
            room=session.room,
            session=session,
            oob="true",
            max_length=self.max_length,
        )

    def named(self, session: Session) -> str:
        return ""  # pages rename with a form over HTTP

    def error(self, error: ChatError) -> str:
        return self.renderer.block(ROOM, "composer_error", error=error.message, error_oob=True)

    def status(self) -> str:
        return self._status


def message_json(message: Message) -> dict[str, Any]:
    """A message as every JSON client sees it (socket events and messages.json alike)."""
    return {
        "type": "message",
        "room": message.room,
        "id": message.id,
        "author": message.author,
        "author_key": message.author_key,
        "n": message.n,
        "text": message.text,
        "time": message.created_at.isoformat(),
    }


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


class JsonFormat:
    """One JSON object per frame; documented with an example per event in the README."""

    joins_frames = False

    def messages(self, room: str, messages: list[Message], *, replace: bool) -> str:
        return _dumps(
            {
                "type": "history",
                "room": room,
                "replace": replace,
                "messages": [message_json(m) for m in messages],
            }
        )

    def message(self, message: Message, evicted: list[int]) -> str:
        return _dumps(message_json(message))

    def presence(self, room: str, events: list[Event], members: list[str] | None) -> list[str]:
        keys = ("type", "room", "name", "key", "old")
        frames = [
            _dumps({**{k: e[k] for k in keys if k in e}, "text": e["notice"]["text"]})
            for e in events
        ]
        return frames if members is None else [*frames, self.members(room, members)]

    def members(self, room: str, members: list[str]) -> str:
        return _dumps({"type": "members", "room": room, "members": members})

    def welcome(self, session: Session) -> str:
        """Who you are, the session id to reconnect with (it keeps your numbering), and the
        number of your last stored message (after a drop: was my last line stored?)."""
        return _dumps(
            {
                "type": "welcome",
                "room": session.room,
                "name": session.name,
                "key": session.key,
                "session": session.id,
                "seq": session.seq,
            }
        )

    def sent(self, session: Session, message: Message) -> str:
        return _dumps({"type": "sent", "room": message.room, "id": message.id, "n": message.n})

    def named(self, session: Session) -> str:
        return _dumps({"type": "named", "room": session.room, "name": session.name})

    def error(self, error: ChatError) -> str:
        return _dumps({"type": "error", "code": error.code, "message": error.message})

    def status(self) -> str:
        return ""
