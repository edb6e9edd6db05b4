"""A broadcast server as most tutorials write it (FastAPI's ConnectionManager): the baseline.

Each message is rendered once, then sent to every socket in turn, awaiting each send: one
client that stops reading blocks the loop, and with it everyone after it. Nothing is stored.
"""

import html
import json

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()
PAGE = """<!doctype html><title>naive</title>
<div hx-ext="ws" ws-connect="/rooms/{room}/ws"><form id="chat-form" ws-send>
<input name="message"><button>Send</button></form><ol id="messages"></ol></div>"""


class ConnectionManager:
    def __init__(self) -> None:
        self.active_connections: dict[str, list[WebSocket]] = {}

    async def connect(self, room: str, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active_connections.setdefault(room, []).append(websocket)

    def disconnect(self, room: str, websocket: WebSocket) -> None:
        self.active_connections[room].remove(websocket)

    async def broadcast(self, room: str, message: str) -> None:
        for connection in list(self.active_connections[room]):
            await connection.send_text(message)


manager = ConnectionManager()
counter = 0


@app.get("/rooms/{room}")
async def page(room: str) -> HTMLResponse:
    return HTMLResponse(PAGE.format(room=room))


@app.websocket("/rooms/{room}/ws")
async def chat(websocket: WebSocket, room: str) -> None:
    global counter
    await manager.connect(room, websocket)
    try:
        while True:
            data = json.loads(await websocket.receive_text())
            counter += 1
            item = f'<li id="msg-{counter}">{html.escape(str(data.get("message", "")))}</li>'
            await manager.broadcast(room, f'<ol id="messages" hx-swap-oob="beforeend">{item}</ol>')
    except WebSocketDisconnect:
        manager.disconnect(room, websocket)
