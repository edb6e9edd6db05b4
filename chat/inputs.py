"""What we accept from people: room names, display names and message text."""

import re
import unicodedata

from chat.errors import InvalidInput, NotFound

ROOM_RULE = "Room names are 1 to 32 letters, digits, '-' or '_'."
NAME_RULE = "Names are 1 to 32 visible characters."
_ROOM = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_NAME_LENGTH = 32


def room_name(value: str) -> str:
    """Return `value` if it names a room, else refuse with the rule."""
    if not _ROOM.fullmatch(value):
        raise NotFound(f"There is no room called that. {ROOM_RULE}", code="invalid_room")
    return value


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
    """Validate a message: a non-blank string, no control characters, not too long."""
    if not isinstance(value, str):
        raise InvalidInput("The message must be text.", code="invalid_type")
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("Type a message first: empty messages are not sent.", code="empty")
    if len(text) > max_length:
        raise InvalidInput(
            f"That message is {len(text):,} characters long; the limit is {max_length:,}.",
            code="too_long",
        )
    if _has_control(text, allow_newlines=True):
        raise InvalidInput("Messages cannot contain control characters.", code="control_chars")
    return text


def display_name(value: object) -> str:
    """Validate a display name: 1-32 visible characters on one line."""
    if not isinstance(value, str):
        raise InvalidInput("The name must be text.", code="invalid_type")
    name = " ".join(value.split())
    if not name:
        raise InvalidInput(f"Choose a name. {NAME_RULE}", code="empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"That name is too long. {NAME_RULE}", code="too_long")
    if _has_control(name, allow_newlines=False) or not any(c.isprintable() for c in name):
        raise InvalidInput(f"That name has invisible characters. {NAME_RULE}", code="control_chars")
    return name
