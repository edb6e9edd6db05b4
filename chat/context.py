"""What every template block sees: one set of variables, built here for pages and pushes alike,
so a block that renders on the page renders in a push too (docs/designers.md lists them)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chat.config import Settings
from chat.store.base import REACTIONS

UTC_ZONE = ZoneInfo("UTC")

if TYPE_CHECKING:
    from chat.i18n import Language


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whom a render is for: one page's person, or `EVERYONE` (a push rendered once for all)."""

    key: str  # the public author key their messages carry as data-author
    name: str
    session: str  # the page's secret session id, for its forms
    next: int = 1  # the number the composer gives its next draft
    owner: str = ""  # the public tag of their browser: messages with it are theirs to change

    def __bool__(self) -> bool:
        return bool(self.key)


EVERYONE = Viewer(key="", name="", session="")


@dataclass(frozen=True, slots=True)
class Look:
    """The settings a designer may show."""

    max_length: int  # longest message, in characters
    history_size: int  # messages a page shows
    heartbeat: float  # seconds between "online" refreshes
    offline_after: float  # seconds without one before a page shows "offline"
    development: bool  # `chat serve --reload`: template errors are shown on the page
    edit_window: float  # seconds after sending that its author may edit or delete a message
    reactions: tuple[str, ...]  # the reactions people can give, in the order offered

    @classmethod
    def of(cls, settings: Settings) -> "Look":
        return cls(
            max_length=settings.max_message_length,
            history_size=settings.history_size,
            heartbeat=settings.heartbeat,
            offline_after=max(10.0, settings.heartbeat * 2.5),
            development=settings.development,
            edit_window=settings.edit_window,
            reactions=REACTIONS,
        )


# Every block may use every one of these; what a render does not set keeps its default.
STATE: dict[str, Any] = {
    "messages": [],  # messages to show, oldest first
    "m": None,  # the message the `message` block shows
    "zone": UTC_ZONE,  # the reader's time zone: times and day breaks are on its clocks
    "zones": [],  # /settings: every zone name there is
    "present": {},  # who is in the room now: case-folded name -> key (for @mentions)
    "following": None,  # `page`: the message shown just after it (its day may go on)
    "previous": None,  # the message before `m` in the room, if known (grouping, day breaks)
    "before": 0,  # the oldest message shown: older ones load from before it (0: the start)
    "paged": False,  # a page of history, not live: older pages without JavaScript, or `around`
    "around": 0,  # the message a page of history was opened at (a search result)
    "after": 0,  # the newest message shown when newer ones exist (a page of history)
    "editing": 0,  # the message shown as its edit form
    "swap": "",  # `changed`: the hx-swap-oob of the message pushed on its own
    "refocus": False,  # the answer to your Save or Cancel: your Edit link takes the focus back
    "query": "",  # what was searched for
    "words": [],  # its words, to mark in the results
    "results": [],  # the messages found, newest first
    "older_results": 0,  # when there are more: the id the next (older) results come before
    "members": [],  # names of the people online
    "dropped": [],  # ids of notices pages remove (only the last few are kept)
    "notices": [],  # {"id", "kind": join|leave|rename, "name", "old"} of people coming and going
    "status_state": "connecting",  # connecting | online | offline
    "beat": "",  # the heartbeat's phase: first (on connecting), then odd, even, odd…
    "error": "",  # what went wrong with the last message (under the composer)
    "draft": "",  # the text the composer keeps after an error
    "refusal": "",  # why an edit, a delete or a reaction was refused
    "name_error": "",
    "name_draft": "",
    "oob": "",  # the hx-swap-oob value when the block is pushed ("" on the page)
    "asked": "",  # `?lang=CODE` when the page's address asked for its language, for its forms
    "path": "",  # the page's own address: the language switch comes back to it
    "nonce": "",  # the page's CSP nonce, for its one <style>
    "rooms": {},  # the rooms page: room -> people online
    "status_code": 200,  # error pages
    "title": "",
    "gallery": [],  # the designers' gallery: (slug, what it shows) of every specimen
    "specimen": "",  # one specimen page: the rendered block
    "problem": "",  # development: a template error, and the block it broke
    "broken_block": "",
}


def context(
    room: str,
    viewer: Viewer,
    look: Look,
    language: "Language",
    languages: "list[Language]",
    **state: Any,
) -> dict[str, Any]:
    """The variables of a render: `room`, `viewer`, `everyone`, `chat`, the reader's `language`
    (and the `languages` to switch to) and the block state."""
    unknown = set(state) - STATE.keys()
    if unknown:
        raise TypeError(f"not a documented template variable: {sorted(unknown)}")
    fixed = {"room": room, "viewer": viewer, "everyone": EVERYONE, "chat": look}
    return {**fixed, "language": language, "languages": languages, **STATE, **state}
