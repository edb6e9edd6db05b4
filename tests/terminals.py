"""The `chat` console script as a real process: feed its stdin, collect what it prints."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from websockets.sync.client import ClientConnection, connect

from tests.servers import wait_until

CHAT = str(Path(sys.executable).with_name("chat"))  # the installed console script


class ChatProcess:
    """`chat client …` or `chat demo …` with piped stdin, stdout and stderr."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [CHAT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: IO[str] | None, lines: list[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.append(line.rstrip("\n"))

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, line: str, *, stream: str = "out", timeout: float = 20) -> None:
        lines = self.out if stream == "out" else self.err
        wait_until(lambda: any(line in seen for seen in lines), timeout, f"{line!r} in {stream}")

    def end_input(self, timeout: float = 20) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout)

    def interrupt(self, timeout: float = 20) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Kill the process if it still runs, and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for reader in self._readers:
            reader.join(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class JsonClient:
    """A raw client of the `chat.v1.json` protocol, as another program would write one."""

    def __init__(self, base_url: str, room: str, name: str) -> None:
        url = f"{base_url.replace('http', 'ws', 1)}/rooms/{room}/ws?name={name}"
        self.ws: ClientConnection = connect(
            url,
            subprotocols=["chat.v1.json"],  # type: ignore[list-item]
        ).__enter__()
        self.events: list[dict[str, Any]] = []

    def send(self, text: str) -> None:
        self.ws.send(json.dumps({"type": "message", "message": text}))

    def wait_for_message(self, text: str) -> dict[str, Any]:
        while True:
            event: dict[str, Any] = json.loads(self.ws.recv(timeout=20))
            self.events.append(event)
            if event["type"] == "message" and event["text"] == text:
                return event

    def close(self) -> None:
        self.ws.close()
