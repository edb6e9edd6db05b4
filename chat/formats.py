"""What a connection receives: HTML fragments for htmx pages, or JSON events (`chat.v1.json`).

Each event is turned into a frame once per variant (format and language), never once per
recipient: a connection holds the one format object of its variant (`Formats`).
"""

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chat.broker import Event
from chat.context import EVERYONE, UTC_ZONE, Viewer
from chat.errors import ChatError
from chat.i18n import N_, Language, Languages
from chat.rendering import Renderer, template_problem
from chat.sessions import Session
from chat.sharing import Shared
from chat.store import Message
from chat.store.base import Reaction

ROOM = "room.html"
BEATS_KEPT = 4096  # status fragments kept per variant (four beats a room)
log = logging.getLogger(__name__)
PROBLEM = "default:problem.html"  # built in: a designer's template error cannot break it
JSON_SUBPROTOCOL = "chat.v1.json"


@dataclass(frozen=True, slots=True)
class Reacted:
    """Which message, and its reactions now (what templates need of it to show them)."""

    id: int
    reactions: tuple[Reaction, ...]


@dataclass(frozen=True, slots=True)
class Around:
    """What pages need to show a message in its place: the message before it (grouping, day
    breaks) and who is here (@mentions)."""

    previous: Message | None = None
    present: dict[str, str] = field(default_factory=dict)

    def state(self) -> dict[str, Any]:
        return {"previous": self.previous, "present": self.present}


class Format(Protocol):
    joins_frames: bool  # may frames queued together be sent as one WebSocket message?

    def messages(
        self,
        room: str,
        messages: list[Message],
        *,
        replace: bool,
        before: int = 0,
        around: "Around | None" = None,
    ) -> str:
        """New messages to append, or (`replace`) the room's whole recent list, with older ones
        to load from `before` (0: that is the room's start)."""
        ...

    def message(self, message: Message, around: "Around") -> str:
        """A new message, and what pages need around it."""
        ...

    def older(self, room: str, messages: list[Message], before: int) -> str:
        """A page of older history a client asked for (pages ask over HTTP instead)."""
        ...

    def changed(self, message: Message, around: "Around") -> str:
        """A message edited or deleted: as it is now, in place of the old one."""
        ...

    def reacted(self, room: str, reacted: "Reacted") -> str:
        """A message's reactions as they are now."""
        ...

    def presence(
        self,
        room: str,
        events: list[Event],
        members: list[str] | None,
        dropped: list[str] | None = None,
    ) -> list[str]:
        """Who came, went or changed name lately and, when known, who is here now; pages
        remove the `dropped` notices."""
        ...

    def members(self, room: str, members: list[str]) -> str: ...

    def welcome(self, session: Session) -> str: ...

    def sent(self, session: Session, message: Message) -> str: ...

    def named(self, session: Session) -> str: ...

    def done(self, room: str, change: str, message_id: int) -> str:
        """The reply to a change a client asked for (its event follows, as for everyone)."""
        ...

    def error(self, error: ChatError, room: str = "") -> str: ...

    def status(self, room: str, beat: str) -> str:
        """The heartbeat: `first` when a page connects, then `odd` and `even` in turn."""
        ...


class HtmlFormat:
    """Blocks of templates/room.html, marked for htmx's out-of-band swaps.

    htmx swaps every top-level element of a frame, so fragments queued together travel as one.
    A block that fails to render is logged (template, line, cause) and left out, so the event
    still reaches other formats and the next events still go out; in development the page
    shows the error where the fragment would have gone.
    """

    joins_frames = True

    def __init__(self, renderer: Renderer, language: Language, zone: ZoneInfo) -> None:
        self.renderer = renderer
        self.language = language
        self.zone = zone
        self._beats: dict[tuple[str, str], str] = {}  # (room, beat) -> the status fragment

    def _block(
        self,
        block: str,
        room: str,
        viewer: Viewer = EVERYONE,
        shared: Shared | None = None,
        **state: Any,
    ) -> str:
        try:
            if shared is not None:
                return self.renderer.shared_block(
                    ROOM, shared, room, self.language, zone=self.zone, **state
                )
            return self.renderer.block(
                ROOM, block, room, viewer, self.language, zone=self.zone, **state
            )
        except Exception as error:  # a designer's template: nothing in it may stop delivery
            problem = template_problem(error)
            log.error("template error in block %r, left out of a push: %s", block, problem)
            if not self.renderer.look.development:
                return ""
            return self.renderer.block(
                PROBLEM,
                "problem",
                room,
                language=self.language,
                problem=problem,
                broken_block=block,
            )

    def messages(
        self,
        room: str,
        messages: list[Message],
        *,
        replace: bool,
        before: int = 0,
        around: "Around | None" = None,
    ) -> str:
        present = around.present if around else {}
        if replace:  # a new live region: screen readers do not read it out again
            shown = Shared(
                "messages",
                ("resync", room, self.language.code, self.zone.key, before),
                tuple((m.id, m.version) for m in messages),
            )  # the same for every page of this variant that resynchronises now
            return self._block(
                "messages",
                room,
                oob="true",
                messages=messages,
                before=before,
                present=present,
                shared=shown,
            )
        first = around.previous if around else None
        pairs = zip(messages, [first, *messages], strict=False)
        return "".join(
            self._block("pushed", room, m=m, previous=p, present=present) for m, p in pairs
        )

    def message(self, message: Message, around: "Around") -> str:
        return self._block("pushed", message.room, m=message, **around.state())

    def older(self, room: str, messages: list[Message], before: int) -> str:
        return ""

    def changed(self, message: Message, around: "Around") -> str:
        return self._block("changed", message.room, m=message, swap="true", **around.state())

    def reacted(self, room: str, reacted: Reacted) -> str:
        return self._block("reacted", room, m=reacted)

    def presence(
        self,
        room: str,
        events: list[Event],
        members: list[str] | None,
        dropped: list[str] | None = None,
    ) -> list[str]:
        said = [notice(e) for e in events]
        notices = self._block("notices", room, notices=said, dropped=dropped or [])
        return [notices + (self.members(room, members) if members is not None else "")]

    def members(self, room: str, members: list[str]) -> str:
        return self._block("members", room, members=members, oob="true")

    def welcome(self, session: Session) -> str:
        """A connection was accepted: clear a refusal the page may still show."""
        return self._block("composer_error", session.room, viewer_of(session), oob="true")

    def sent(self, session: Session, message: Message) -> str:
        """The sender's composer again, empty and focused (htmx does not reset the form), with
        the number of the next draft."""
        return self._block("composer", session.room, viewer_of(session), oob="true")

    def named(self, session: Session) -> str:
        return ""  # pages rename with a form over HTTP

    def done(self, room: str, change: str, message_id: int) -> str:
        return ""  # pages change messages with forms over HTTP

    def error(self, error: ChatError, room: str = "") -> str:
        return self._block("composer_error", room, error=error.text(self.language), oob="true")

    def status(self, room: str, beat: str) -> str:
        """Rendered once per room and beat: every page connecting to a room after a restart
        gets its `first` and `again` from here, not from a render of its own."""
        if self.renderer.look.development:  # templates change under us
            return self._block("status", room, status_state="online", beat=beat, oob="true")
        fragment = self._beats.get((room, beat))
        if fragment is None:
            if len(self._beats) >= BEATS_KEPT:
                self._beats.clear()
            fragment = self._block("status", room, status_state="online", beat=beat, oob="true")
            self._beats[(room, beat)] = fragment
        return fragment


def viewer_of(session: Session) -> Viewer:
    """The person a page (or a fragment only they receive) is rendered for."""
    return Viewer(
        key=session.key,
        name=session.name,
        session=session.id,
        next=session.seq + 1,
        owner=session.owner,
    )


def notice(event: Event) -> dict[str, str]:
    """What templates say about someone coming, going or changing name."""
    return {
        "id": event["notice"]["id"],
        "kind": event["type"],
        "name": event["name"],
        "old": event.get("old", ""),
    }


def message_json(message: Message) -> dict[str, Any]:
    """A message as every JSON client sees it (socket events and messages.json alike)."""
    return {
        "type": "message",
        "room": message.room,
        "id": message.id,
        "author": message.author,
        "author_key": message.author_key,
        "owner": message.owner,
        "n": message.n,
        "text": message.text,
        "time": message.created_at.isoformat(),
        "edited": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": message.deleted,
        "reactions": [reaction_json(r) for r in message.reactions],
    }


def reaction_json(reaction: Reaction) -> dict[str, Any]:
    """One kind of reaction: how many, and who (names to show, owners to find your own)."""
    return {
        "emoji": reaction.emoji,
        "count": len(reaction.names),
        "names": list(reaction.names),
        "owners": list(reaction.owners),
    }


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


class JsonFormat:
    """One JSON object per frame; documented with an example per event in the README."""

    joins_frames = False

    def __init__(self, language: Language) -> None:
        self.language = language

    def messages(
        self,
        room: str,
        messages: list[Message],
        *,
        replace: bool,
        before: int = 0,
        around: "Around | None" = None,
    ) -> str:
        return _dumps(
            {
                "type": "history",
                "room": room,
                "replace": replace,
                "messages": [message_json(m) for m in messages],
            }
        )

    def message(self, message: Message, around: "Around") -> str:
        return _dumps(message_json(message))

    def older(self, room: str, messages: list[Message], before: int) -> str:
        """`before` is where to ask next (0: this page starts the room)."""
        page = [message_json(m) for m in messages]
        return _dumps({"type": "older", "room": room, "before": before, "messages": page})

    def changed(self, message: Message, around: "Around") -> str:
        if message.deleted:
            return _dumps({"type": "delete", "room": message.room, "id": message.id})
        return _dumps({**message_json(message), "type": "edit"})

    def reacted(self, room: str, reacted: Reacted) -> str:
        reactions = [reaction_json(r) for r in reacted.reactions]
        return _dumps({"type": "reactions", "room": room, "id": reacted.id, "reactions": reactions})

    def presence(
        self,
        room: str,
        events: list[Event],
        members: list[str] | None,
        dropped: list[str] | None = None,
    ) -> list[str]:
        keys = ("type", "room", "name", "key", "old")
        said = self._said
        frames = [_dumps({**{k: e[k] for k in keys if k in e}, "text": said(e)}) for e in events]
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
                "owner": session.owner,
            }
        )

    def sent(self, session: Session, message: Message) -> str:
        return _dumps({"type": "sent", "room": message.room, "id": message.id, "n": message.n})

    def named(self, session: Session) -> str:
        return _dumps({"type": "named", "room": session.room, "name": session.name})

    def done(self, room: str, change: str, message_id: int) -> str:
        return _dumps({"type": "done", "room": room, "change": change, "id": message_id})

    def error(self, error: ChatError, room: str = "") -> str:
        message = error.text(self.language)
        return _dumps({"type": "error", "code": error.code, "message": message})

    def status(self, room: str, beat: str) -> str:
        return ""

    def _said(self, event: Event) -> str:
        """The sentence a JSON client may show for a presence event, in its language."""
        sentence = SAID.get(event["type"], SAID["join"])
        return self.language.gettext(sentence).format(name=event["name"], old=event.get("old", ""))


SAID = {
    "join": N_("{name} joined"),
    "leave": N_("{name} left"),
    "rename": N_("{old} is now {name}"),
}


class Formats:
    """The format objects of every variant, made once: connections of one variant share one,
    so the hub renders each event once per variant."""

    def __init__(self, renderer: Renderer, languages: Languages) -> None:
        self.renderer = renderer
        self.languages = languages
        self._made: dict[tuple[bool, str, str], Format] = {}

    def of(self, language: Language, zone: ZoneInfo = UTC_ZONE, *, json: bool = False) -> Format:
        """The variant's format: for JSON the language only (times travel as ISO 8601)."""
        key = (json, language.code, "" if json else zone.key)
        made = self._made.get(key)
        if made is None:
            made = JsonFormat(language) if json else HtmlFormat(self.renderer, language, zone)
            self._made[key] = made
        return made
