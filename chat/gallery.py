"""The designers' gallery: every block of the room in every state, with sample data, each on
a page of its own and all framed on one (on in development, off by default: CHAT_GALLERY)."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from chat.broker.redis import BrokerUnavailable
from chat.context import EVERYONE, Viewer
from chat.errors import (
    ChatError,
    Forbidden,
    NameTaken,
    NotFound,
    StoreUnavailable,
    TooManyConnections,
)
from chat.formats import ROOM
from chat.i18n import N_, Language
from chat.inputs import display_name, message_text
from chat.limits import TokenBucket
from chat.rendering import Renderer
from chat.services import Services
from chat.sessions import EXPIRED
from chat.store import Message
from chat.store.base import Reaction
from chat.store.search import words

router = APIRouter()
ROOM_NAME = "gallery"
YOU = Viewer(key="a1b2c3d4e5f6", name="Ann", session="sample-session", next=4, owner="ann-tag")
ZOE_TAG = "zoe-tag"  # the browser Zoë wrote from: her reactions carry it
SEARCHES = ("release", "rollback")  # what the sample searches look for (one found, one not)
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
        (Viewer("b2c3d4e5f6a1", "Bob", ""), "@Ann, a minute later: grouped under my name"),
    ]
    return [
        Message(
            room=ROOM_NAME,
            author=who.name,
            author_key=who.key,
            n=n,
            text=text,
            created_at=start + timedelta(days=n // 5, minutes=n),  # the last on the next day
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
    yield StoreUnavailable(
        N_("Your message could not be saved, so it was not sent. Try again in a moment.")
    )
    yield BrokerUnavailable(
        N_("The chat is briefly unavailable, so your message was not sent. Try again.")
    )
    yield TooManyConnections(
        N_(
            "Too many chat pages are open from your address. Close some: this page "
            "connects by itself when there is room."
        )
    )
    yield Forbidden(EXPIRED, code="expired_session")


def states(renderer: Renderer, language: Language) -> Iterator[tuple[str, str, Markup]]:
    """(slug, what it shows, the rendered block) for every state a designer should see."""
    messages = sample_messages()
    block: Callable[..., str] = renderer.block
    said = language.gettext

    def shown(
        slug: str, title: str, name: str, viewer: Viewer = EVERYONE, **state: Any
    ) -> tuple[str, str, Markup]:
        html = Markup(block(ROOM, name, ROOM_NAME, viewer, language, **state))  # noqa: S704
        return slug, said(title), html

    here = {"ann": YOU.key, "bob": "b2c3d4e5f6a1"}
    yield shown(
        "messages",
        N_("Messages: yours (marked by the page's style), others', a link, a day break, a group"),
        "messages",
        messages=messages,
        present=here,
    )
    yield shown(
        "mention",
        N_("A message that mentions you (@Ann), marked by the page's style"),
        "messages",
        messages=messages[-2:],
        present=here,
    )
    yield shown("empty", N_("An empty room"), "messages", messages=[])
    yield shown("older", N_("Older messages to load"), "older", before=1)
    yield shown("start", N_("The start of the room"), "older", before=0)
    yield shown(
        "notices",
        N_("Notices: someone joined, left, changed name"),
        "notices",
        notices=[
            {"id": "1", "kind": "join", "name": "Bob", "old": ""},
            {"id": "2", "kind": "leave", "name": "Zoë", "old": ""},
            {"id": "3", "kind": "rename", "name": "Robert", "old": "Bob"},
        ],
    )
    for state, title in STATES.items():
        yield shown(f"status-{state}", title, "connection", status_state=state, beat="first")
    yield shown("composer", N_("The composer"), "composer", YOU)
    yield shown(
        "composer-draft",
        N_("The composer keeping a draft after an error"),
        "composer",
        YOU,
        draft="A message that was refused",
        error=next(composer_errors(renderer.look.max_length)).text(language),
    )
    for error in composer_errors(renderer.look.max_length):
        title = said(N_("Composer error: {code}")).format(code=error.code)
        yield shown(f"error-{error.code}", title, "composer_error", YOU, error=error.text(language))
    yield shown("name", N_("Your name"), "name_form", YOU)
    taken = NameTaken(N_("Someone here is already called {name}. Pick another name."), name="Bob")
    yield shown(
        "name-taken",
        N_("Your name, refused"),
        "name_form",
        YOU,
        name_draft="Bob",
        name_error=taken.text(language),
    )
    try:
        display_name("   ")
    except ChatError as error:
        yield shown(
            "name-empty",
            N_("Your name, empty"),
            "name_form",
            YOU,
            name_draft="",
            name_error=error.text(language),
        )
    people = [
        "Ann",
        "Bob",
        "Zoë with a rather long display name",
        *[f"user_{i:08d}" for i in range(30)],
    ]
    yield shown("members", N_("A full member list"), "members", members=people)
    yield from changed_states(shown, renderer.look.max_length, renderer.look.edit_window, language)
    yield from search_states(shown)


Shown = Callable[..., tuple[str, str, Markup]]


def changed_states(
    shown: Shown, max_length: int, edit_window: float, language: Language
) -> Iterator[tuple[str, str, Markup]]:
    """Messages that changed after they were sent, yours to change, and refused changes."""
    hello, noon, word = sample_messages()[:3]
    now = datetime.now(UTC)
    reactions = (
        Reaction("👍", (noon.author, YOU.name, word.author), ("bob-tag", YOU.owner, ZOE_TAG)),
        Reaction("🎉", (word.author,), (ZOE_TAG,)),
    )
    yield shown(
        "reactions",
        N_("Reactions: yours marked by the page's style, and the picker to add one"),
        "messages",
        messages=[replace(noon, reactions=reactions)],
    )
    edited = replace(
        noon, text="Yes, at one now.", edited_at=noon.created_at + timedelta(minutes=3)
    )
    yield shown("edited", N_("An edited message"), "messages", messages=[edited])
    gone = replace(word, deleted_at=word.created_at + timedelta(minutes=1))
    yield shown("deleted", N_("A deleted message"), "messages", messages=[hello, gone])
    mine = replace(hello, created_at=now - timedelta(minutes=1), owner=YOU.owner)
    yield shown(
        "yours",
        N_("Your message, with Edit and Delete while it can change (shown by the page's style)"),
        "messages",
        messages=[mine],
    )
    yield shown("edit", N_("Editing your message"), "messages", messages=[mine], editing=mine.id)
    try:
        message_text("", max_length)
    except ChatError as error:
        yield shown(
            "edit-refused",
            N_("Editing your message, refused"),
            "messages",
            messages=[mine],
            editing=mine.id,
            error=error.text(language),
        )
    late = Forbidden(
        N_("Messages can be changed for {minutes} minutes after they are sent."),
        code="too_late",
        minutes=round(edit_window / 60),
    )
    yield shown(
        "action-error",
        N_("An edit, a delete or a reaction, refused"),
        "action_error",
        refusal=late.text(language),
    )


def search_states(shown: Shown) -> Iterator[tuple[str, str, Markup]]:
    """The search box, what it found (its words marked) or not, and a page of history."""
    messages = sample_messages()
    found, missing = SEARCHES
    later = messages[-1].created_at + timedelta(hours=2)
    notes = replace(messages[1], text="Release done: the release notes are out.", created_at=later)
    results = [replace(notes, id=len(messages) + 1), messages[0]]  # newest first
    yield shown("search", N_("The search box, after a search"), "search_form", query=found)
    yield shown(
        "results",
        N_("Search results, the words searched for marked"),
        "results",
        query=found,
        words=words(found),
        results=results,
    )
    yield shown(
        "no-results",
        N_("A search that found nothing"),
        "results",
        query=missing,
        words=words(missing),
    )
    yield shown(
        "newer",
        N_("A page of history around a search result: newer messages to load"),
        "messages",
        messages=messages,
        paged=True,
        around=messages[0].id,
        after=messages[-1].id,
    )
    yield shown(
        "newest",
        N_("The newest messages loaded on a page of history: the way back"),
        "messages",
        messages=messages[-2:],
        paged=True,
        around=messages[-2].id,
    )


STATES = {
    "connecting": N_("Status: connecting"),
    "online": N_("Status: online"),
    "offline": N_("Status: offline"),
}


@router.get("/gallery", response_class=HTMLResponse, include_in_schema=False)
async def gallery(request: Request) -> HTMLResponse:
    """Every specimen on one page, each in its own frame (each is a page's part, with its ids)."""
    services: Services = request.app.state.services
    language = services.languages.of(request)
    specimens = [(slug, title) for slug, title, _ in states(services.renderer, language)]
    html = services.renderer.page(
        "gallery.html",
        ROOM_NAME,
        YOU,
        language,
        nonce=request.state.nonce,
        path=request.url.path,
        gallery=specimens,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/gallery/{slug}", response_class=HTMLResponse, include_in_schema=False)
async def specimen(request: Request, slug: str) -> HTMLResponse:
    """One block in one state, as a page of its own (framed by /gallery)."""
    services: Services = request.app.state.services
    language = services.languages.of(request)
    for name, title, html in states(services.renderer, language):
        if name == slug:
            page = services.renderer.page(
                "specimen.html",
                ROOM_NAME,
                YOU,
                language,
                nonce=request.state.nonce,
                title=title,
                specimen=html,
            )
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})
    raise NotFound(N_("There is no such page."))
