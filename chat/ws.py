"""The WebSocket endpoint: thin; moves frames between the socket and the domain."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from chat.connections import ROOM, Connection
from chat.errors import ChatError
from chat.frames import parse_frame
from chat.inputs import room_name
from chat.security import check_origin
from chat.services import Services

router = APIRouter()

UNSUPPORTED_DATA = 1003
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


@router.websocket("/rooms/{room}/ws")
async def room_socket(websocket: WebSocket, room: str, session: str = "") -> None:
    """Join a room: resynchronise the page, then relay messages until the socket closes."""
    services: Services = websocket.app.state.services
    try:
        check_origin(websocket, services.settings.allowed_origins)
        me = await services.sessions.get(session, room_name(room))
    except ChatError as error:
        # Accept, explain on the page, then close with a code after which htmx does not retry.
        await websocket.accept()
        await websocket.send_text(_error_frame(services, error.message))
        await websocket.close(POLICY_VIOLATION, error.code)
        return
    await websocket.accept()
    connection = Connection(websocket, me, services.settings.send_queue_size)
    await services.hub.attach(connection)
    try:
        await _resynchronise(services, connection)
        await services.chat.join(me)
        try:
            await _relay(services, connection)
        finally:
            await services.chat.leave(me)
    finally:
        await services.hub.detach(connection)


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
    members = services.hub.members(services.chat.members(session.room))
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
            await asyncio.wait_for(connection.websocket.close(code, reason), timeout=5)
