"""HTTP routes for what people do to messages: edit, delete, react, and search.

Each form works without JavaScript (a post, then back to the room) and with htmx (the answer is
the block that changes; everyone else's pages change by the room's pushed event). The browser
cookie says whose the request is; every post is Origin-checked.
"""

from collections.abc import Awaitable
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chat.changes import Actor, message_number
from chat.context import EVERYONE
from chat.errors import ChatError, InvalidInput, NotFound
from chat.formats import ROOM
from chat.i18n import N_
from chat.inputs import room_name
from chat.limits import RateLimited
from chat.pages import (
    BROWSER_COOKIE,
    NAME_COOKIE,
    SEE_OTHER,
    asked_of,
    render_room,
    room_url,
    services_of,
)
from chat.rooms import present
from chat.security import check_origin
from chat.sessions import owner_of
from chat.store import Message
from chat.store.search import words

router = APIRouter()
SEARCH_RESULTS = 50
NEWER_PAGE = 50
QUERY_LENGTH = 200  # the search input's maxlength


def _actor(request: Request) -> Actor:
    """Whose request this is: the browser's owner tag and its remembered name."""
    browser = request.cookies.get(BROWSER_COOKIE, "")
    name = unquote(request.cookies.get(NAME_COOKIE) or "") or "?"
    return Actor(owner_of(browser, "") if browser else "", name[:64])


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _message(request: Request, room: str, message_id: int) -> Message:
    found = await services_of(request).store.get(room, message_id)
    if found is None:
        raise NotFound(
            N_("There is no message {id} in this room."), code="unknown_message", id=message_id
        )
    return found


async def _block(
    request: Request, room: str, block: str, status: int = 200, **state: Any
) -> Response:
    services = services_of(request)
    html = services.renderer.block(
        ROOM,
        block,
        room,
        EVERYONE,
        services.languages.of(request),
        zone=services.zones.of(request),
        asked=asked_of(request),
        **state,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _item(request: Request, message: Message) -> Response:
    """A message as every page shows it (what Cancel and Save put back in place of the form)."""
    services = services_of(request)
    earlier = await services.store.before(message.room, message.id, 1)
    return await _block(
        request,
        message.room,
        "item",
        m=message,
        previous=earlier[0] if earlier else None,
        present=await present(services.broker, message.room),
    )


def _back(request: Request, room: str, message_id: int) -> Response:
    return RedirectResponse(f"{room_url(room)}{asked_of(request)}#msg-{message_id}", SEE_OTHER)


async def _refused(request: Request, room: str, error: ChatError) -> Response:
    """Why a change was refused, where the page shows it: htmx gets the action error in
    place of its own (whatever the form targeted), a form post the room page saying it."""
    said = error.text(services_of(request).languages.of(request))
    if _htmx(request):
        response = await _block(request, room, "action_error", error.status, refusal=said)
        response.headers.update({"HX-Retarget": "#action-error", "HX-Reswap": "outerHTML"})
        return response
    return await render_room(request, room, status=error.status, refusal=said)


@router.get("/rooms/{room}/messages/{message_id}", summary="One message (htmx: its list item)")
async def message_item(request: Request, room: str, message_id: str) -> Response:
    room = room_name(room)
    message = await _message(request, room, message_number(message_id))
    if not _htmx(request):
        return _back(request, room, message.id)
    return await _item(request, message)


@router.get("/rooms/{room}/messages/{message_id}/edit", summary="The form to edit your message")
async def edit_form(request: Request, room: str, message_id: str) -> Response:
    services = services_of(request)
    room = room_name(room)
    try:
        message = await services.changes.may_change(_actor(request), room, message_id)
    except ChatError as error:
        return await _refused(request, room, error)
    if _htmx(request):
        return await _block(request, room, "edit_form", m=message)
    return await render_room(request, room, editing=message.id)


@router.post("/rooms/{room}/messages/{message_id}/edit", summary="Save an edited message")
async def edit(
    request: Request, room: str, message_id: str, text: Annotated[str, Form()] = ""
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    room = room_name(room)
    try:
        changed = await services.changes.edit(_actor(request), room, message_id, text)
    except ChatError as error:
        if not _in_the_form(error):  # not theirs, gone, unknown: no form to show it in
            return await _refused(request, room, error)
        said = error.text(services.languages.of(request))
        message = await _message(request, room, message_number(message_id))
        if _htmx(request):
            return await _block(
                request, room, "edit_form", error.status, m=message, error=said, draft=text
            )
        return await render_room(
            request, room, status=error.status, editing=message.id, error=said, draft=text
        )
    if _htmx(request):
        return await _item(request, changed)
    return _back(request, room, changed.id)


def _in_the_form(error: ChatError) -> bool:
    """A refusal the edit form shows with the draft kept: the text, the pace, the time."""
    return (
        isinstance(error, InvalidInput | RateLimited) and error.code != "invalid_id"
    ) or error.code == "too_late"


@router.post("/rooms/{room}/messages/{message_id}/delete", summary="Delete your message")
async def delete(request: Request, room: str, message_id: str) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    room = room_name(room)
    return await _done(request, room, services.changes.delete(_actor(request), room, message_id))


@router.post(
    "/rooms/{room}/messages/{message_id}/reactions", summary="Give or take back a reaction"
)
async def react(
    request: Request, room: str, message_id: str, emoji: Annotated[str, Form()] = ""
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    room = room_name(room)
    return await _done(
        request, room, services.changes.react(_actor(request), room, message_id, emoji)
    )


async def _done(request: Request, room: str, change: Awaitable[Message | int]) -> Response:
    """After a delete or a reaction: htmx gets the (cleared) action error, a form post goes
    back to the message; a refusal says why, in place."""
    try:
        done = await change
    except ChatError as error:
        return await _refused(request, room, error)
    if _htmx(request):
        return await _block(request, room, "action_error")
    return _back(request, room, done if isinstance(done, int) else done.id)


@router.get("/rooms/{room}/search", summary="Messages of the room with every word, newest first")
async def search(request: Request, room: str, q: str = "") -> Response:
    services = services_of(request)
    room = room_name(room)
    q = q[:QUERY_LENGTH]  # what the form allows; a longer address is cut, not refused
    found = words(q)
    results = await services.store.search(room, found, SEARCH_RESULTS) if found else []
    state: dict[str, Any] = {"query": q.strip(), "words": found, "results": results}
    if _htmx(request):
        return await _block(request, room, "results", **state)
    return await render_room(request, room, **state)


@router.get(
    "/rooms/{room}/newer", summary="The messages after one, as list items (a page of history)"
)
async def newer(request: Request, room: str, after: int = Query(gt=0)) -> Response:
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
