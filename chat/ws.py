"""The WebSocket endpoint: thin; moves frames between the socket and the domain."""

import asyncio
import contextlib
import functools
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from chat.changes import Actor
from chat.connection import Connection
from chat.errors import ChatError, InvalidInput, TooManyConnections
from chat.formats import JSON_SUBPROTOCOL, Around, Format
from chat.frames import Change, Older, Rename, parse_frame
from chat.hub import Hub
from chat.i18n import N_
from chat.inputs import room_name
from chat.limits import TokenBucket
from chat.rooms import names_of
from chat.security import check_origin
from chat.services import Services
from chat.sessions import Session
from chat.sockets import DIRECT
from chat.store import Message, more_before

router = APIRouter()

UNSUPPORTED_DATA = 1003
AGAIN = 1.0  # seconds after connecting: a page shows "online" by then, whatever it saw before


@router.websocket("/rooms/{room}/ws")
async def room_socket(
    websocket: WebSocket, room: str, session: str = "", name: str | None = None
) -> None:
    """Join a room: catch the client up, then relay messages until the socket closes.

    Pages get HTML fragments; clients that offer the `chat.v1.json` subprotocol get JSON events
    and may connect without a session (one is made for them; `name` asks for a display name).
    """
    services: Services = websocket.app.state.services
    settings = services.settings
    wants_json = JSON_SUBPROTOCOL in websocket.scope.get("subprotocols", ())
    subprotocol = JSON_SUBPROTOCOL if wants_json else None
    language, zone = services.languages.of(websocket), services.zones.of(websocket)
    format = services.formats.of(language, zone, json=wants_json)
    address = websocket.client.host if websocket.client else ""
    try:
        check_origin(websocket, settings.allowed_origins)
        if services.hub.per_address[address] >= settings.max_connections_per_ip:
            raise TooManyConnections(
                N_(
                    "Too many chat pages are open from your address. Close some: this page "
                    "connects by itself when there is room."
                )
            )
        room = room_name(room)
        if wants_json and not session:
            session = (await services.chat.open_session(room, name, cursor=0)).id
        me = await services.sessions.get(session, room)
    except ChatError as error:
        await _refuse(websocket, format, error, subprotocol)
        return
    await websocket.accept(subprotocol=subprotocol)
    # Frames of any kind, valid or not, are limited per connection (twice the message rate).
    bucket = TokenBucket(settings.rate_per_second * 2, settings.rate_burst * 2)
    direct = websocket.scope.get("extensions", {}).get(DIRECT)
    connection = Connection(
        websocket,
        me,
        settings.send_queue_size,
        bucket,
        address,
        format,
        direct,
        services.hub.outbox,
    )
    await services.hub.attach(connection)
    reconnected = me.ever_connected
    asyncio.get_running_loop().call_later(AGAIN, _beat_again, services.hub, connection)
    end = functools.partial(_leave, services, connection)
    parked = False
    try:
        await services.chat.join(me)
        await _catch_up(services, websocket, connection, reconnected)
        connection.release()
        if direct is not None:
            # The server hands us the client's frames from now on: this call, and all that
            # it holds, ends here; an idle connection costs no task.
            direct.direct_park(functools.partial(_received, services, connection), end)
            parked = True
            return
        while await _received(services, connection, await websocket.receive()):
            pass
    except ChatError as error:  # the store went away while we were catching the client up
        await _refuse(websocket, format, error)
    except WebSocketDisconnect:  # gone before we finished catching it up
        pass
    finally:
        if not parked:
            await end()


async def _leave(services: Services, connection: Connection) -> None:
    """The connection is over: its person leaves (with their last connection), the hub
    forgets it."""
    try:
        with contextlib.suppress(ChatError):  # the broker is away: presence expires by itself
            await services.chat.leave(connection.session)
    finally:
        connection.stop()
        await services.hub.detach(connection)


async def _refuse(
    websocket: WebSocket, format: Format, error: ChatError, subprotocol: str | None = None
) -> None:
    """Explain, then close with the error's code (1008 stays closed, 1013 retries)."""
    with contextlib.suppress(Exception):
        if websocket.client_state is WebSocketState.CONNECTING:
            await websocket.accept(subprotocol=subprotocol)
        await websocket.send_text(format.error(error))
        await websocket.close(error.close_code, error.code)


def _beat_again(hub: Hub, connection: Connection) -> None:
    """A second beat for a page that just connected. Its first (`first`) may match the last one
    it saw before a drop, and a beat that matches restarts no countdown: this one differs."""
    if connection not in hub.rooms.get(connection.session.room, ()):
        return  # it has gone since
    if frame := connection.format.status(connection.session.room, "again"):
        connection.push(frame)


async def _catch_up(
    services: Services, websocket: WebSocket, connection: Connection, reconnected: bool
) -> None:
    """Bring the client up to date: append what a page missed since it was rendered, or, after
    a reconnect (when frames may have been lost in flight), replace the whole list."""
    session, format = connection.session, connection.format
    recent = await services.store.recent(session.room, services.settings.history_size)
    services.hub.remember(session.room, recent)
    missed = [m for m in recent if m.id > session.cursor]
    replace = reconnected or missed == recent
    before = more_before(recent, services.settings.history_size)
    shown = recent if replace else missed
    people = await services.broker.members(session.room)
    here = services.hub.saw(session.room, people)
    seen = [m for m in recent if m.id <= session.cursor]  # the page's last one groups the next
    around = Around(seen[-1] if seen else None, here)
    history = format.messages(session.room, shown, replace=replace, before=before, around=around)
    changes = [] if replace else _changed_since(format, seen, session.issued, here)
    if recent:
        connection.floor = max(connection.floor, recent[-1].id)
    members = ""  # unless the list is about to go out to all, this page included (its join)
    if not services.hub.presence_due(session.room):
        members = format.members(session.room, names_of(people))
    status = format.status(session.room, "first")
    frames = [f for f in (format.welcome(session), history, *changes, members, status) if f]
    if format.joins_frames:  # one frame, one write, one swap for htmx
        frames = ["".join(frames)]
    for frame in frames:
        await websocket.send_text(frame)


async def _change(services: Services, session: Session, command: Change) -> int:
    """Edit, delete or react as the client asked; the id of the message changed."""
    changes, actor = services.changes, Actor.of(session)
    if command.kind == "edit":
        return (await changes.edit(actor, session.room, command.id, command.text)).id
    if command.kind == "delete":
        return (await changes.delete(actor, session.room, command.id)).id
    return (await changes.react(actor, session.room, command.id, command.emoji))[0]


CLOCK_SLACK = 10.0  # seconds: the page may have been rendered by another process's clock


def _changed_since(
    format: Format, shown: list[Message], rendered: float, here: dict[str, str]
) -> list[str]:
    """Messages a page shows that were edited, deleted or reacted to after it was rendered,
    as they are now."""
    frames = []
    for previous, message in zip([None, *shown], shown, strict=False):
        changed = message.changed_at
        if changed is not None and changed.timestamp() >= rendered - CLOCK_SLACK:
            frames.append(format.changed(message, Around(previous, here)))
    return frames


async def _received(services: Services, connection: Connection, event: Mapping[str, Any]) -> bool:
    """Handle what the client sent; False once the connection is over (the client went away,
    or broke the protocol)."""
    if event["type"] == "websocket.disconnect":
        return False
    if event.get("text") is None:
        refusal = InvalidInput(N_("Binary frames are not accepted; send JSON."), code="binary")
        connection.push(connection.format.error(refusal, connection.session.room))
        await connection.close(UNSUPPORTED_DATA, "binary frames are not accepted")
        return False
    await _handle(services, connection, event["text"])
    return True


async def _handle(services: Services, connection: Connection, raw: str) -> None:
    """One command; the client's own message and the reply to it leave in one write."""
    session, format = connection.session, connection.format
    services.sessions.touch(session)
    connection.hold()
    try:
        try:
            connection.bucket.take()
            command = parse_frame(raw)
            if isinstance(command, Rename):
                await services.chat.rename(session, command.name)
                reply = format.named(session)
            elif isinstance(command, Older):
                page, before = await services.chat.older(session.room, command.before)
                reply = format.older(session.room, page, before)
            elif isinstance(command, Change):
                number = await _change(services, session, command)
                reply = format.done(session.room, command.kind, number)
            else:
                message = await services.chat.post(session, command.text, command.n)
                reply = format.sent(session, message)
        except ChatError as error:
            reply = format.error(error, session.room)
        if reply:
            connection.push(reply)
    finally:
        connection.release()
