"""The WebSocket frames clients send, parsed strictly: anything unexpected is a clear error."""

import json
from dataclasses import dataclass

from chat.errors import InvalidInput
from chat.i18n import N_

# htmx's ws extension adds HEADERS; the composer carries the page's session id.
_KNOWN = {"type", "message", "session", "n", "HEADERS"}
_LARGEST_NUMBER = 2**31 - 1
_LARGEST_ID = 2**63 - 1
_KNOWN_RENAME = {"type", "name"}
_KNOWN_OLDER = {"type", "before"}
_KNOWN_CHANGE = {
    "edit": {"type", "id", "text"},
    "delete": {"type", "id"},
    "react": {"type", "id", "emoji"},
}
_CHANGE_EXAMPLE = {
    "edit": '{"type": "edit", "id": 123, "text": "…"}',
    "delete": '{"type": "delete", "id": 123}',
    "react": '{"type": "react", "id": 123, "emoji": "👍"}',
}
EXAMPLE = '{"message": "hi"}'  # what error messages show as a frame to send


@dataclass(frozen=True, slots=True)
class SendMessage:
    """A request to post `text` (validated later by the domain), the draft's number `n` if the
    client gave one (a draft sent twice is stored once)."""

    text: object
    n: int | None = None


@dataclass(frozen=True, slots=True)
class Older:
    """A request for the page of history before message `before` (JSON clients)."""

    before: int


@dataclass(frozen=True, slots=True)
class Change:
    """A request to edit (`text`), delete or react to (`emoji`) message `id` (JSON clients;
    pages use forms). The values are checked by the domain."""

    kind: str  # edit | delete | react
    id: object
    text: object = None
    emoji: object = None


@dataclass(frozen=True, slots=True)
class Rename:
    """A request to change the display name (JSON clients; pages use a form)."""

    name: object


def parse_frame(raw: str) -> SendMessage | Rename | Older | Change:
    """Turn one text frame into a command, or raise `InvalidInput` saying what was wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise InvalidInput(
            N_("That frame was not JSON; send an object such as {example}."),
            code="invalid_json",
            example=EXAMPLE,
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            N_("Send a JSON object such as {example}."), code="not_object", example=EXAMPLE
        )
    if data.get("type") == "rename":
        unknown = sorted(set(data) - _KNOWN_RENAME)
        if unknown or "name" not in data:
            raise InvalidInput(
                N_("A rename is {example}."),
                code="invalid_rename",
                example='{"type": "rename", "name": "…"}',
            )
        return Rename(name=data["name"])
    if data.get("type") == "older":
        before = data.get("before")
        if set(data) - _KNOWN_OLDER or type(before) is not int or not 0 < before <= _LARGEST_ID:
            raise InvalidInput(
                N_("Ask for older messages with {example}: the id of the oldest one you have."),
                code="invalid_older",
                example='{"type": "older", "before": 123}',
            )
        return Older(before=before)
    kind = data.get("type")
    if isinstance(kind, str) and kind in _KNOWN_CHANGE:
        if set(data) != _KNOWN_CHANGE[kind]:
            raise InvalidInput(
                N_("That change is {example}."),
                code=f"invalid_{kind}",
                example=_CHANGE_EXAMPLE[kind],
            )
        return Change(kind, data["id"], data.get("text"), data.get("emoji"))
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise InvalidInput(
            N_('Unknown field {field}; a message has only "message".'),
            code="unknown_field",
            field=repr(unknown[0]),
        )
    kind = data.get("type", "message")
    if kind != "message":
        raise InvalidInput(
            N_(
                'Unknown type {kind}; send "message", "rename", "older", "edit", "delete", "react".'
            ),
            code="unknown_type",
            kind=repr(kind),
        )
    if "message" not in data:
        raise InvalidInput(N_('The "message" field is missing.'), code="missing_field")
    if "HEADERS" in data and not isinstance(data["HEADERS"], dict):
        raise InvalidInput(N_("HEADERS must be an object."), code="invalid_type")
    return SendMessage(text=data["message"], n=draft_number(data.get("n")))


def draft_number(value: object) -> int | None:
    """The number a composer gave its draft: a positive integer, or a string of one (forms)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 11:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _LARGEST_NUMBER:
        return value
    raise InvalidInput(
        N_('"n" is the number of your next message: a positive whole number.'),
        code="invalid_type",
    )
