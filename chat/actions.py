"""HTTP routes for what people do to messages: edit, delete, react, and search.

Each form works without JavaScript (a post, then back to the room) and with htmx (the answer is
the block that changes; everyone else's pages change by the room's pushed event). The browser
cookie says whose the request is; every post is Origin-checked.
"""

from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chat.changes import Actor, message_number
from chat.context import EVERYONE
from chat.errors import ChatError, InvalidInput
from chat.formats import ROOM, Reacted
from chat.i18n import N_
from chat.inputs import display_name, room_name, room_url
from chat.limits import RateLimited
from chat.pages import (
    BROWSER_COOKIE,
    NAME_COOKIE,
    SEE_OTHER,
    asked_of,
    render_room,
    services_of,
)
from chat.rooms import present
from chat.security import check_origin
from chat.services import Services
from chat.store import Message
from chat.store.search import words

router = APIRouter()
SEARCH_RESULTS = 50
NEWER_PAGE = 50
QUERY_LENGTH = 200  # the search input's maxlength


def _actor(request: Request, room: str) -> Actor:
    """Whose request this is: the tag of the browser its signed cookie names, in this room, and
    the name it chose (as names are checked; `?` if there is none)."""
    services = services_of(request)
    owner = services.sessions.browser_tag(request.cookies.get(BROWSER_COOKIE), room)
    try:
        name = display_name(unquote(request.cookies.get(NAME_COOKIE) or ""))
    except InvalidInput:
        name = "?"
    return Actor(owner, name, request.client.host if request.client else "")


def _changing(request: Request, room: str) -> tuple[Services, str, Actor]:
    """A post that changes a message: only the browser's cookie says whose it is, so it must
    come from one of our pages (Origin); the room in its one spelling, and who asks."""
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins, required=True)
    room = room_name(room)
    return services, room, _actor(request, room)


def _htmx(request: Request) -> bool:
    """Asked by htmx for a part of the page (not for a whole page to restore from history)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def _html(request: Request, room: str, block: str, **state: Any) -> str:
    services = services_of(request)
    language, zone = services.languages.of(request), services.zones.of(request)
    asked = asked_of(request)
    return services.renderer.block(
        ROOM, block, room, EVERYONE, language, zone=zone, asked=asked, **state
    )


def _answer(html: str, status: int = 200) -> Response:
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _block(
    request: Request, room: str, block: str, status: int = 200, **state: Any
) -> Response:
    return _answer(_html(request, room, block, **state), status)


async def _item(request: Request, message: Message, swap: str = "", refocus: bool = False) -> str:
    """A message as every page shows it (what Cancel and Save put back in place of the form;
    `swap`: out of band, after a delete)."""
    services = services_of(request)
    earlier = await services.store.before(message.room, message.id, 1)
    return _html(
        request,
        message.room,
        "item",
        m=message,
        swap=swap,
        refocus=refocus,
        previous=earlier[0] if earlier else None,
        present=await present(services.broker, message.room),
    )


def _back(request: Request, room: str, message_id: int) -> Response:
    return RedirectResponse(f"{room_url(room)}{asked_of(request)}#msg-{message_id}", SEE_OTHER)


async def _refused(request: Request, room: str, error: ChatError) -> Response:
    """Why a change was refused, where the page shows it: htmx gets the page's alert (as every
    refusal of an htmx request: chat/error_pages.py), a form post the room page saying it."""
    if _htmx(request):
        raise error
    said = error.text(services_of(request).languages.of(request))
    return await render_room(request, room, status=error.status, refusal=said)


@router.get("/rooms/{room}/messages/{message_id}", summary="One message (htmx: its list item)")
async def message_item(request: Request, room: str, message_id: str) -> Response:
    room = room_name(room)
    message = await services_of(request).changes.find(room, message_number(message_id))
    if not _htmx(request):
        return _back(request, room, message.id)
    return _answer(await _item(request, message, refocus=True))


@router.get("/rooms/{room}/messages/{message_id}/edit", summary="The form to edit your message")
async def edit_form(request: Request, room: str, message_id: str) -> Response:
    services = services_of(request)
    room = room_name(room)
    try:
        message = await services.changes.may_change(_actor(request, room), room, message_id)
    except ChatError as error:
        return await _refused(request, room, error)
    if _htmx(request):
        return await _block(request, room, "edit_form", m=message)
    return await render_room(request, room, around=message.id, editing=message.id)


@router.post("/rooms/{room}/messages/{message_id}/edit", summary="Save an edited message")
async def edit(
    request: Request, room: str, message_id: str, text: Annotated[str, Form()] = ""
) -> Response:
    services, room, actor = _changing(request, room)
    try:
        changed = await services.changes.edit(actor, room, message_id, text)
    except ChatError as error:
        if not _in_the_form(error):  # not theirs, gone, unknown: no form to show it in
            return await _refused(request, room, error)
        said = error.text(services.languages.of(request))
        message = await services.changes.find(room, message_number(message_id))
        if _htmx(request):
            return await _block(
                request, room, "edit_form", error.status, m=message, error=said, draft=text
            )
        return await render_room(
            request,
            room,
            around=message.id,
            status=error.status,
            editing=message.id,
            error=said,
            draft=text,
        )
    if _htmx(request):
        return _answer(await _item(request, changed, refocus=True))
    return _back(request, room, changed.id)


def _in_the_form(error: ChatError) -> bool:
    """A refusal the edit form shows with the draft kept: the text, the pace, the time."""
    return (
        isinstance(error, InvalidInput | RateLimited) and error.code != "invalid_id"
    ) or error.code == "too_late"


@router.post("/rooms/{room}/messages/{message_id}/delete", summary="Delete your message")
async def delete(request: Request, room: str, message_id: str) -> Response:
    services, room, actor = _changing(request, room)
    try:
        deleted = await services.changes.delete(actor, room, message_id)
    except ChatError as error:
        return await _refused(request, room, error)
    if _htmx(request):  # the placeholder for the page that asked (it may have no socket)
        return _done(request, room, await _item(request, deleted, swap="true"))
    return _back(request, room, deleted.id)


@router.post(
    "/rooms/{room}/messages/{message_id}/reactions", summary="Give or take back a reaction"
)
async def react(
    request: Request, room: str, message_id: str, emoji: Annotated[str, Form()] = ""
) -> Response:
    services, room, actor = _changing(request, room)
    try:
        number, now = await services.changes.react(actor, room, message_id, emoji)
    except ChatError as error:
        return await _refused(request, room, error)
    if _htmx(request):  # the reactions now, for the page that asked (it may have no socket)
        return _done(request, room, _html(request, room, "reacted", m=Reacted(number, now)))
    return _back(request, room, number)


def _done(request: Request, room: str, changed: str) -> Response:
    """After a delete or a reaction, for htmx: the page's alert cleared, and what changed
    swapped in out of band (the room's push brings the same to the other pages)."""
    return _answer(_html(request, room, "action_error") + changed)


@router.get("/rooms/{room}/search", summary="Messages of the room with every word, newest first")
async def search(
    request: Request, room: str, q: str = "", before: int | None = Query(None, gt=0, lt=2**63)
) -> Response:
    """The room's newest messages with every word of `q` (older ones: `before` the last)."""
    services = services_of(request)
    room = room_name(room)
    try:  # a search reads far more than a message writes
        services.searches.take(request.client.host if request.client else "")
    except RateLimited:
        raise RateLimited(
            N_("Slow down: too many searches at once. Wait a moment and search again."),
            code="rate_limited",
        ) from None
    q = q[:QUERY_LENGTH]  # what the form allows; a longer address is cut, not refused
    found = words(q)
    asked = SEARCH_RESULTS + 1  # one more says whether older results exist
    page = await services.store.search(room, found, asked, before) if found else []
    results = page[:SEARCH_RESULTS]
    state: dict[str, Any] = {
        "query": q.strip(),
        "words": found,
        "results": results,
        "older_results": results[-1].id if len(page) > SEARCH_RESULTS else 0,
    }
    if _htmx(request):
        return await _block(request, room, "results", **state)
    return await render_room(request, room, **state)


@router.get(
    "/rooms/{room}/newer", summary="The messages after one, as list items (a page of history)"
)
async def newer(request: Request, room: str, after: int = Query(gt=0, lt=2**63 - 1)) -> Response:
    services = services_of(request)
    room = room_name(room)
    page = await services.store.after(room, after, NEWER_PAGE + 1)
    shown = page[:NEWER_PAGE]
    earlier = await services.store.before(room, after + 1, 1)
    state: dict[str, Any] = {
        "messages": shown,
        "previous": earlier[0] if earlier else None,
        "after": shown[-1].id if len(page) > NEWER_PAGE else 0,
        "present": await present(services.broker, room),
    }
    return await _block(request, room, "newer_page", **state)
