"""A peer: a python-socketio chat written the way its documentation writes one.

`socketio.AsyncServer(async_mode="asgi")` wrapped in `socketio.ASGIApp`, run by uvicorn; the
client names its room in the CONNECT packet's auth (`40{"room": "bench-fan"}`), the `connect`
handler puts it in that room, and each `message` event is emitted to the whole room, sender
included, as a chat shows everyone's messages. Nothing is validated, stored or rendered; each
client's packets go out through its own queue and writer task (python-engineio's design).
`chat bench --protocol socketio` drives it; `GET /rooms/ready` answers for the comparison.

    python -m uvicorn tests.bench.socketio_peer:app

`PEER_PING_INTERVAL` and `PEER_PING_TIMEOUT` (seconds) set the Engine.IO heartbeat
(the library's defaults, 25 and 20, when unset).
"""

import os
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

heartbeat = {
    name: float(os.environ[variable])
    for name, variable in [
        ("ping_interval", "PEER_PING_INTERVAL"),
        ("ping_timeout", "PEER_PING_TIMEOUT"),
    ]
    if os.environ.get(variable)
}
sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", **heartbeat)
rooms: dict[str, str] = {}  # sid -> its room


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
    room = str((auth or {}).get("room", "lobby"))
    rooms[sid] = room
    await sio.enter_room(sid, room)


@sio.event
async def message(sid: str, data: Any) -> None:
    if (room := rooms.get(sid)) is not None:  # None: it left while this event waited
        await sio.emit("message", data, room=room)


@sio.event
async def disconnect(sid: str, reason: str) -> None:
    rooms.pop(sid, None)


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ready")


app = socketio.ASGIApp(sio, other_asgi_app=Starlette(routes=[Route("/rooms/ready", ready)]))
