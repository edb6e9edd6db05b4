"""The designers' gallery: every block of the room in every state, with sample data, on one
page (on in development, off by default in production: CHAT_GALLERY)."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from chat.broker.redis import BrokerUnavailable
from chat.context import EVERYONE, Viewer
from chat.errors import ChatError, Forbidden, NameTaken, StoreUnavailable, TooManyConnections
from chat.formats import ROOM
from chat.inputs import display_name, message_text
from chat.limits import TokenBucket
from chat.rendering import Renderer
from chat.services import Services
from chat.sessions import EXPIRED
from chat.store import Message

router = APIRouter()
ROOM_NAME = "gallery"
YOU = Viewer(key="a1b2c3d4e5f6", name="Ann", session="sample-session", next=4)
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
LONG_LINK = "https://example.com/" + "/".join(["a-rather-long-path-segment"] * 8) + "?q=1"


def sample_messages() -> list[Message]:
    start = datetime(2026, 12, 2, 9, 41, tzinfo=UTC)
    said = [
        (YOU, "Good morning! Is the release still on for today?"),
        (Viewer("b2c3d4e5f6a1", "Bob", ""), "Yes, at noon."),
        (Viewer("c3d4e5f6a1b2", "Zoë with a rather long display name", ""), LONG_WORD),
        (YOU, f"The notes are here: {LONG_LINK}"),
        (Viewer("b2c3d4e5f6a1", "Bob", ""), "Line one\nline two\n\n  indented line four"),
    ]
    return [
        Message(
            room=ROOM_NAME,
            author=who.name,
            author_key=who.key,
            n=n,
            text=text,
            created_at=start + timedelta(minutes=n),
            id=n,
        )
        for n, (who, text) in enumerate(said, start=1)
    ]


def composer_errors(max_length: int) -> Iterator[ChatError]:
    """Every error a person can see under the composer, as the server words it."""
    for bad in ("", "x" * (max_length + 1), "bell\x07"):
        try:
            message_text(bad, max_length)
        except ChatError as error:
            yield error
    try:
        bucket = TokenBucket(5, 1)
        bucket.take()
        bucket.take()
    except ChatError as error:
        yield error
    yield StoreUnavailable("Your message could not be saved, so it was not sent. Try again.")
    yield BrokerUnavailable("The chat is briefly unavailable, so your message was not sent.")
    yield TooManyConnections("Too many chat pages are open from your address. Close some.")
    yield Forbidden(EXPIRED, code="expired_session")


def states(renderer: Renderer) -> Iterator[tuple[str, Markup]]:
    """(what it shows, the rendered block) for every state a designer should see."""
    messages = sample_messages()
    block: Callable[..., str] = renderer.block

    def shown(title: str, name: str, viewer: Viewer = EVERYONE, **state: Any) -> tuple[str, Markup]:
        return title, Markup(block(ROOM, name, ROOM_NAME, viewer, **state))  # noqa: S704

    yield shown(
        "Messages: yours (marked by the page's style) and others'", "messages", messages=messages
    )
    yield shown("An empty room", "messages", messages=[])
    yield shown(
        "Notices: someone joined, left, changed name",
        "notices",
        notices=[
            {"id": "1", "kind": "join", "name": "Bob", "old": ""},
            {"id": "2", "kind": "leave", "name": "Zoë", "old": ""},
            {"id": "3", "kind": "rename", "name": "Robert", "old": "Bob"},
        ],
    )
    for state in ("connecting", "online", "offline"):
        yield shown(f"Status: {state}", "status", status_state=state)
    yield shown("The composer", "composer", YOU)
    yield shown(
        "The composer keeping a draft after an error",
        "composer",
        YOU,
        draft="A message that was refused",
        error="Slow down: wait a moment.",
    )
    for error in composer_errors(renderer.look.max_length):
        yield shown(f"Composer error: {error.code}", "composer_error", YOU, error=error.message)
    yield shown("Your name", "name_form", YOU)
    taken = NameTaken("Someone here is already called Bob. Pick another name.")
    yield shown("Your name, refused", "name_form", YOU, name_draft="Bob", name_error=taken.message)
    try:
        display_name("   ")
    except ChatError as error:
        yield shown("Your name, empty", "name_form", YOU, name_draft="", name_error=error.message)
    people = [
        "Ann",
        "Bob",
        "Zoë with a rather long display name",
        *[f"user_{i:08d}" for i in range(30)],
    ]
    yield shown("A full member list", "members", members=people)


@router.get("/gallery", response_class=HTMLResponse, include_in_schema=False)
async def gallery(request: Request) -> HTMLResponse:
    services: Services = request.app.state.services
    renderer = services.renderer
    html = renderer.page(
        "gallery.html", ROOM_NAME, YOU, nonce=request.state.nonce, gallery=list(states(renderer))
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
