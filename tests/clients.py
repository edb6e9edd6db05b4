"""A raw WebSocket client that talks to a real server exactly like the page does."""

import json
import urllib.request
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.html import one, parse


class RawClient:
    """Loads a room page (a new session), then opens the page's WebSocket."""

    def __init__(self, base_url: str, room: str = "lobby", origin: str | None = None) -> None:
        self.base_url = base_url
        self.room = room
        path = "/" if room == "lobby" else f"/rooms/{room}"
        with urllib.request.urlopen(base_url + path) as response:
            page = response.read().decode()
        self.session = str(one(page, "#chat-form input[name=session]")["value"])
        ws_path = str(one(page, "[ws-connect]")["ws-connect"])
        headers = {"Origin": origin or base_url}
        self.ws: ClientConnection = connect(
            base_url.replace("http", "ws", 1) + ws_path, additional_headers=headers, open_timeout=10
        ).__enter__()

    def send(self, text: Any, **extra: Any) -> None:
        self.ws.send(json.dumps({"message": text, "HEADERS": {"HX-Request": "true"}, **extra}))

    def receive_until(self, selector: str, timeout: float = 10) -> str:
        while True:
            frame = self.ws.recv(timeout=timeout)
            assert isinstance(frame, str)
            if parse(frame).select(selector):
                return frame

    def send_and_wait(self, text: str) -> None:
        """Send, then wait for the sender's own acknowledgement (the emptied composer)."""
        self.send(text)
        self.receive_until("form#chat-form")

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
