"""The floor of the stack: a bare FastAPI WebSocket echo behind a page `chat bench` can load.

Nothing is validated, numbered, stored, rendered or fanned out; each frame goes straight back.
"""

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()
PAGE = """<!doctype html><title>echo</title>
<div hx-ext="ws" ws-connect="/ws"><form id="chat-form" ws-send>
<input name="message"><button>Send</button></form></div>"""


@app.get("/rooms/{room}")
async def page(room: str) -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
