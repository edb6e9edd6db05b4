"""The WebSocket endpoint: thin; moves frames between the socket and the domain."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from chat.connections import ROOM, Connection
from chat.errors import ChatError, TooManyConnections
from chat.frames import parse_frame
from chat.inputs import room_name
from chat.limits import TokenBucket
from chat.security import check_origin
from chat.services import Services

router = APIRouter()

UNSUPPORTED_DATA = 1003
TRY_AGAIN_LATER = 1013


@router.websocket("/rooms/{room}/ws")
async def room_socket(websocket: WebSocket, room: str, session: str = "") -> None:
    """Join a room: resynchronise the page, then relay messages until the socket closes."""
    services: Services = websocket.app.state.services
    settings = services.settings
    address = websocket.client.host if websocket.client else ""
    try:
        check_origin(websocket, settings.allowed_origins)
        if services.hub.per_address[address] >= settings.max_connections_per_ip:
            raise TooManyConnections("Too many open chat pages from your address; close some.")
        me = await services.sessions.get(session, room_name(room))
    except ChatError as error:
        await _refuse(services, websocket, error)
        return
    await websocket.accept()
    # Frames of any kind, valid or not, are limited per connection (twice the message rate).
    bucket = TokenBucket(settings.rate_per_second * 2, settings.rate_burst * 2)
    connection = Connection(websocket, me, settings.send_queue_size, bucket, address)
    await services.hub.attach(connection)
    try:
        await _resynchronise(services, connection)
        await services.chat.join(me)
        try:
            await _relay(services, connection)
        finally:
            await services.chat.leave(me)
    except ChatError as error:  # the store went away while we were catching the page up
        await _refuse(services, websocket, error)
    except WebSocketDisconnect:  # gone before we finished catching it up
        pass
    finally:
        await services.hub.detach(connection)


async def _refuse(services: Services, websocket: WebSocket, error: ChatError) -> None:
    """Explain on the page, then close with the error's code (1008 stays closed, 1013 retries)."""
    with contextlib.suppress(Exception):
        if websocket.client_state is WebSocketState.CONNECTING:
            await websocket.accept()
        await websocket.send_text(_error_frame(services, error.message))
        await websocket.close(error.close_code, error.code)


async def _resynchronise(services: Services, connection: Connection) -> None:
    """Bring the page up to date: append what it missed since it was rendered, or, after a
    reconnect (when frames may have been lost in flight), replace the whole list."""
    session = connection.session
    recent = await services.store.recent(session.room, services.settings.history_size)
    services.hub.remember(session.room, recent)
    missed = [m for m in recent if m.id > session.cursor]
    if session.ever_connected or (missed and missed == recent):
        frame = services.hub.messages(recent, oob="true")
    else:
        frame = services.hub.messages(missed, oob="beforeend") if missed else ""
    if recent:
        connection.floor = max(connection.floor, recent[-1].id)
    members = services.hub.members(await services.chat.members(session.room))
    await connection.websocket.send_text(frame + members + services.hub.online_status)


async def _relay(services: Services, connection: Connection) -> None:
    """Read frames and write queued frames until one side stops."""
    async with anyio.create_task_group() as tasks:

        async def until_done(work: Callable[[], Awaitable[object]]) -> None:
            await work()
            tasks.cancel_scope.cancel()

        tasks.start_soon(until_done, connection.write_forever)
        tasks.start_soon(until_done, connection.overflowed.wait)
        tasks.start_soon(until_done, lambda: _read_forever(services, connection))
    if connection.overflowed.is_set():
        await _close(connection, TRY_AGAIN_LATER, "too slow: reconnect to catch up")


async def _read_forever(services: Services, connection: Connection) -> None:
    websocket = connection.websocket
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            return
        if frame.get("text") is None:
            await websocket.send_text(
                _error_frame(services, "Binary frames are not accepted; send JSON.")
            )
            await _close(connection, UNSUPPORTED_DATA, "binary frames are not accepted")
            return
        await _handle(services, connection, frame["text"])


async def _handle(services: Services, connection: Connection, raw: str) -> None:
    session = connection.session
    services.sessions.touch(session)
    try:
        connection.bucket.take()
        command = parse_frame(raw)
        await services.chat.post(session, command.text)
    except ChatError as error:
        connection.push(_error_frame(services, error.message))
        return
    composer = services.renderer.block(
        ROOM,
        "composer",
        room=session.room,
        session=session,
        oob="true",
        max_length=services.settings.max_message_length,
    )
    connection.push(composer)


def _error_frame(services: Services, message: str) -> str:
    return services.renderer.block(ROOM, "composer_error", error=message, error_oob=True)


async def _close(connection: Connection, code: int, reason: str) -> None:
    if connection.websocket.client_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.websocket.close(code, reason), timeout=1)
