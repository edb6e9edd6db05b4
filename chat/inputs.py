"""What we accept from people: room names, display names and message text."""

import unicodedata
from urllib.parse import quote

from chat.errors import InvalidInput, NotFound
from chat.i18n import N_

NO_SUCH_ROOM = N_(
    "There is no room called that. Room names are 1 to 32 letters (of any alphabet), digits, "
    "'-' or '_'."
)
MAX_ROOM_LENGTH = 32
MAX_NAME_LENGTH = 32


def room_name(value: str) -> str:
    """The room `value` names, in its one spelling (NFC, case-folded: `Общий` is `общий`),
    or `NotFound` with the rule."""
    room = unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())
    starts_well = room[:1].isalnum()  # not a mark, '-' or '_' alone
    if not starts_well or len(room) > MAX_ROOM_LENGTH or not all(map(_room_char, room)):
        raise NotFound(NO_SUCH_ROOM, code="invalid_room")
    return room


def room_url(room: str) -> str:
    """The address of a room's page (the lobby is the site's front page)."""
    return "/" if room == "lobby" else f"/rooms/{quote(room)}"


def _room_char(char: str) -> bool:
    return char in "-_" or unicodedata.category(char)[0] in "LM" or char.isdecimal()


def _has_control(text: str, *, allow_newlines: bool) -> bool:
    if text.isprintable():  # the usual case, checked in C
        return False
    for char in text:
        if allow_newlines and char in "\n\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"}:
            return True
    return False


def message_text(value: object, max_length: int) -> str:
    """Validate a message: a non-blank string, no control characters, not too long; composed
    (NFC), so a decomposed `é` is stored, shown and found as the `é` others type."""
    if not isinstance(value, str):
        raise InvalidInput(N_("The message must be text."), code="invalid_type")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()  # one spelling
    if not text or all(c.isspace() or unicodedata.category(c) == "Cf" for c in text):
        raise InvalidInput(N_("Type a message first: empty messages are not sent."), code="empty")
    if len(text) > max_length:
        raise InvalidInput(
            N_("That message is {length} characters long; the limit is {limit}."),
            code="too_long",
            length=len(text),
            limit=max_length,
        )
    if _has_control(text, allow_newlines=True):
        raise InvalidInput(N_("Messages cannot contain control characters."), code="control_chars")
    return text


def display_name(value: object) -> str:
    """Validate a display name: 1-32 visible characters on one line."""
    if not isinstance(value, str):
        raise InvalidInput(N_("The name must be text."), code="invalid_type")
    name = unicodedata.normalize("NFC", " ".join(value.split()))
    if not name:
        raise InvalidInput(N_("Choose a name: 1 to 32 visible characters."), code="empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            N_("That name is too long: names are 1 to 32 characters."), code="too_long"
        )
    invisible = any(unicodedata.category(c) == "Cf" for c in name)  # zero-width, bidi overrides
    if (
        invisible
        or _has_control(name, allow_newlines=False)
        or not any(c.isprintable() for c in name)
    ):
        raise InvalidInput(
            N_("That name has invisible characters: names are 1 to 32 visible characters."),
            code="control_chars",
        )
    return name
