"""HTTP routes: room pages, the no-JavaScript form posts, JSON history and operations."""

from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from chat.context import EVERYONE
from chat.errors import ChatError, InvalidInput
from chat.formats import ROOM, message_json, viewer_of
from chat.frames import draft_number
from chat.i18n import LANGUAGE_COOKIE, N_
from chat.inputs import room_name, room_url
from chat.rooms import names_of, present, present_of
from chat.security import check_origin
from chat.services import Services
from chat.sessions import Session
from chat.sharing import Shared
from chat.sockets import SERVER
from chat.store import more_before
from chat.zones import ZONE_COOKIE, names
from chat.zones import zone as zone_named

router = APIRouter()

NAME_COOKIE = "chat_name"
BROWSER_COOKIE = "chat_browser"
RESUME_COOKIE = "chat_resume"
SEE_OTHER = 303
PERMANENT = 308
YEAR = 365 * 86400


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/", response_class=HTMLResponse, summary="The lobby room")
async def lobby(
    request: Request,
    before: int | None = Query(None, gt=0),
    around: int | None = Query(None, gt=0, lt=2**63),
) -> Response:
    return await render_room(request, "lobby", before=before, around=around)


@router.get("/rooms", response_class=HTMLResponse, summary="Active rooms, and a way to open one")
async def rooms(request: Request, room: str | None = None) -> Response:
    services = services_of(request)
    if room is not None:
        return RedirectResponse(room_url(room_name(room.strip())), SEE_OTHER)
    html = services.renderer.page(
        "rooms.html",
        language=services.languages.of(request),
        rooms=await services.chat.active_rooms(),
        path=request.url.path,
        nonce=request.state.nonce,
    )
    return HTMLResponse(html)


@router.get("/rooms/{room}", response_class=HTMLResponse, summary="A room (created on first use)")
async def room_page(
    request: Request,
    room: str,
    before: int | None = Query(None, gt=0),
    around: int | None = Query(None, gt=0, lt=2**63),
) -> Response:
    canonical = room_name(room)
    if canonical != room:  # `Общий` or a decomposed `café`: the one address of that room
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(room_url(canonical) + query, PERMANENT)
    return await render_room(request, room, before=before, around=around)


@router.get(
    "/rooms/{room}/older",
    response_class=HTMLResponse,
    summary="The page of history before a message, as list items (what scrolling up loads)",
)
async def older(request: Request, room: str, before: int = Query(gt=0)) -> Response:
    services = services_of(request)
    room = room_name(room)
    page, more = await services.chat.older(room, before)
    following = await services.store.after(room, page[-1].id, 1) if page else []
    language = services.languages.of(request)
    zone = services.zones.of(request)
    state = {
        "messages": page,
        "before": more,
        "zone": zone,
        "following": following[0] if following else None,
        "present": await present(services.broker, room),
    }
    html = services.renderer.block(ROOM, "page", room, EVERYONE, language, **state)
    return HTMLResponse(html)


@router.get("/settings", response_class=HTMLResponse, summary="Language and time zone")
async def settings_page(request: Request, next: str = "/") -> Response:
    services = services_of(request)
    html = services.renderer.page(
        "settings.html",
        language=services.languages.of(request),
        zone=services.zones.of(request),
        zones=names(),
        path=_local(next),
        nonce=request.state.nonce,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/settings", summary="Choose the time zone (remembered by the browser)")
async def choose_zone(
    request: Request,
    zone: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    chosen = zone_named(zone)
    if chosen is None:
        raise InvalidInput(N_("There is no time zone called that. Choose one from the list."))
    response = RedirectResponse(_local(next), SEE_OTHER)
    response.set_cookie(ZONE_COOKIE, chosen.key, max_age=YEAR, samesite="lax")
    return response


def _local(address: str) -> str:
    """`address` if it is one of our pages, else the lobby (never another site: browsers drop
    tabs and line breaks from addresses, so `/<TAB>/evil.example` is `//evil.example`)."""
    ours = address.startswith("/") and not address.startswith(("//", "/\\"))
    if not ours or any(c < " " or c == "\x7f" for c in address) or urlsplit(address).netloc:
        return "/"
    return address


@router.post("/language", summary="Choose the language of the pages (remembered by the browser)")
async def choose_language(
    request: Request,
    language: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    chosen = services.languages.get(language)
    response = RedirectResponse(_local(next), SEE_OTHER)
    if chosen is not None:  # a language we do not have changes nothing
        response.set_cookie(LANGUAGE_COOKIE, chosen.code, max_age=YEAR, samesite="lax")
    return response


@router.post("/rooms/{room}/messages", summary="Post a message without JavaScript (303 back)")
async def post_message(
    request: Request,
    room: str,
    session: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
    n: Annotated[str, Form()] = "",
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    me = await services.sessions.get(session, room_name(room))
    try:
        await services.chat.post(me, message, draft_number(n))
    except ChatError as error:
        language = services.languages.of(request)
        return await _render_room(
            request, me, status=error.status, error=error.text(language), draft=message
        )
    return _back_to(me, request)


@router.post("/rooms/{room}/name", summary="Change your display name")
async def change_name(
    request: Request,
    room: str,
    session: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    services = services_of(request)
    check_origin(request, services.settings.allowed_origins)
    me = await services.sessions.get(session, room_name(room))
    error: ChatError | None = None
    try:
        await services.chat.rename(me, name)
    except ChatError as refused:
        error = refused
    if request.headers.get("hx-request") == "true":
        language = services.languages.of(request)
        state = {"name_error": error.text(language), "name_draft": name} if error else {}
        html = services.renderer.block(ROOM, "name_form", me.room, viewer_of(me), language, **state)
        response: Response = HTMLResponse(html, status_code=error.status if error else 200)
    elif error:
        message = error.text(services.languages.of(request))
        response = await _render_room(
            request, me, status=error.status, name_error=message, name_draft=name
        )
    else:
        response = _back_to(me, request)
    if not error:
        _remember_name(response, me.name)
    return response


@router.get("/rooms/{room}/messages.json", summary="The room's recent messages as JSON")
async def messages_json(
    request: Request, room: str, before: int | None = Query(None, gt=0)
) -> dict[str, Any]:
    """The latest messages, or with `before` the page before that message; `before` in the
    answer is where the next older page starts (0: these start the room)."""
    services = services_of(request)
    room = room_name(room)
    if before is None:
        history = await services.store.recent(room, services.settings.history_size)
        more = more_before(history, services.settings.history_size)
    else:
        history, more = await services.chat.older(room, before)
    return {"room": room, "before": more, "messages": [message_json(m) for m in history]}


@router.get("/health", summary="200 when the server and its database are ready")
async def health(request: Request) -> JSONResponse:
    """Readiness, and what the server runs with: `direct_writes` is true when WebSockets use
    our protocol's direct write path (`chat serve`), false under another server."""
    services = services_of(request)
    server = request.scope.get("extensions", {}).get(SERVER, {})
    running = {
        "direct_writes": bool(server.get("direct_writes")),
        "max_header_size": server.get("max_header_size"),
    }
    try:
        await services.store.ping()
    except ChatError as error:
        body = {"status": "unavailable", "detail": error.message, **running}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", **running})


@router.get("/ws-info", summary="Open WebSocket connections per room in this process")
async def ws_info(request: Request) -> dict[str, Any]:
    counts = services_of(request).hub.counts()
    return {"rooms": counts, "total": sum(counts.values())}


async def render_room(
    request: Request,
    room: str,
    *,
    before: int | None = None,
    around: int | None = None,
    status: int = 200,
    **state: Any,
) -> Response:
    """A room's page: its latest messages, or a page of history that is not live: the page
    before message `before` (readers without JavaScript), or the messages `around` one (a
    search result in its place)."""
    services = services_of(request)
    room = room_name(room)
    me = await _resumed(request, room)
    if before is not None:
        history, more = await services.chat.older(room, before)
        state.update(history=history, before=more, paged=True)
    elif around is not None:
        state.update(await _around(services, room, around), paged=True, around=around)
    if me is None:
        if "history" not in state:
            state["history"] = await services.store.recent(room, services.settings.history_size)
        shown = state["history"]
        cursor = shown[-1].id if shown and not state.get("paged") else 0  # 0: the socket shows all
        browser = request.cookies.get(BROWSER_COOKIE) or ""
        tag = services.sessions.browser_tag(browser, room)
        if not tag:  # none yet, or not one we signed
            browser = services.sessions.new_browser()
            tag = services.sessions.browser_tag(browser, room)
        me = await services.chat.open_session(
            room, unquote(request.cookies.get(NAME_COOKIE) or "") or None, cursor, tag
        )
        response = await _render_room(request, me, status=status, **state)
        response.set_cookie(BROWSER_COOKIE, browser, max_age=YEAR, httponly=True, samesite="lax")
        if NAME_COOKIE not in request.cookies:  # a generated name is kept across reloads too
            _remember_name(response, me.name)
    else:
        response = await _render_room(request, me, status=status, **state)
    if RESUME_COOKIE in request.cookies:  # used once: a reload starts anew
        response.delete_cookie(RESUME_COOKIE)
    return response


AROUND = 25  # messages shown on each side of the one a page of history opens at


async def _around(services: Services, room: str, around: int) -> dict[str, Any]:
    """The messages around `around` (it included), where older ones start, and the newest
    shown if newer ones exist."""
    earlier = await services.store.before(room, around + 1, AROUND + 1)
    later = await services.store.after(room, around, AROUND + 1)
    shown = earlier + later[:AROUND]
    return {
        "history": shown,
        "before": more_before(earlier, AROUND + 1),
        "after": shown[-1].id if len(later) > AROUND else 0,
    }


async def _resumed(request: Request, room: str) -> Session | None:
    """The session a no-JS post redirected back with (used once: a reload starts anew)."""
    token = request.cookies.get(RESUME_COOKIE)
    if not token:
        return None
    try:
        return await services_of(request).sessions.get(token, room)
    except ChatError:
        return None


async def _render_room(
    request: Request,
    me: Session,
    *,
    status: int = 200,
    history: list[Any] | None = None,
    **extra: Any,
) -> Response:
    services = services_of(request)
    if history is None:
        history = await services.store.recent(me.room, services.settings.history_size)
        me.cursor = history[-1].id if history else 0
    extra.setdefault("before", more_before(history, services.settings.history_size))
    language, zone = services.languages.of(request), services.zones.of(request)
    asked = asked_of(request)
    people = await services.broker.members(me.room)
    shared = None
    if extra.keys() == {"before"}:  # the live room, nothing of one reader's in its history
        variant = (me.room, language.code, zone.key, asked, extra["before"])
        shared = Shared("messages", variant, tuple((m.id, m.version) for m in history))
    body = services.renderer.page_body(
        ROOM,
        me.room,
        viewer_of(me),
        language,
        shared,
        zone=zone,
        messages=history,
        path=room_url(me.room),
        asked=asked,
        members=names_of(people),
        present=present_of(people),
        nonce=request.state.nonce,
        **extra,
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _remember_name(response: Response, name: str) -> None:
    """Percent-encoded: a header is Latin-1, and names are in any script ("Клава")."""
    quoted = quote(name, safe="")
    response.set_cookie(NAME_COOKIE, quoted, max_age=YEAR, httponly=True, samesite="lax")


def asked_of(request: Request) -> str:
    """`?lang=CODE` if the address asked for a language: a page opened so stays in it."""
    asked = request.query_params.get("lang")
    return f"?{urlencode({'lang': asked})}" if asked else ""


def _back_to(me: Session, request: Request) -> Response:
    response = RedirectResponse(room_url(me.room) + asked_of(request), SEE_OTHER)
    response.set_cookie(RESUME_COOKIE, me.id, max_age=60, httponly=True, samesite="lax")
    return response
