"""A peer: FastHTML's WebSocket chat, written the way its documentation writes it.

As in the docs' "Real-Time Chat App" (`app = FastHTML(exts='ws')`, a page whose form has
`ws_send`, `on_connect`/`on_disconnect` keeping each user's `send`, and a handler that awaits
`send` to each connected user in turn, so each user's copy is rendered to HTML on its own),
with what `chat bench` needs: the page at `/rooms/{room}` with its socket at
`/rooms/{room}/ws` and users kept per room, the input named `message`, and each push carrying
only the new item, swapped in out of band. Like the docs it keeps the messages in memory and
renders them on the page, here a room's last 100 (as our page shows its last 100), so that a
load test does not grow it without end. A fixed secret key: FastHTML would otherwise write
one to `.sesskey` in the working directory.

    python -m uvicorn tests.bench.fasthtml_peer:app
"""

from collections import deque
from typing import Any

from fasthtml.common import Div, FastHTML, Form, Input, Li, Ul

app = FastHTML(exts="ws", secret_key="bench-only")
nid = "msg-list"
msgs: dict[str, deque[str]] = {}  # room -> its last 100 messages
users: dict[str, dict[str, Any]] = {}  # room -> connection id -> that user's `send`


@app.get("/rooms/{room}")
def home(room: str) -> Any:
    return Div(
        Div(Ul(*[Li(m) for m in msgs.get(room, ())], id=nid)),
        Form(Input(id="message"), id="form", ws_send=True),
        hx_ext="ws",
        ws_connect=f"/rooms/{room}/ws",
    )


def on_connect(ws, send, room: str) -> None:  # `ws`, `send`: FastHTML's, by name
    users.setdefault(room, {})[str(id(ws))] = send


def on_disconnect(ws, room: str) -> None:
    users.get(room, {}).pop(str(id(ws)), None)


@app.ws("/rooms/{room}/ws", conn=on_connect, disconn=on_disconnect)
async def ws(message: str, room: str) -> None:
    msgs.setdefault(room, deque(maxlen=100)).append(message)
    for u in users[room].values():
        await u(Ul(Li(message), id=nid, hx_swap_oob="beforeend"))
