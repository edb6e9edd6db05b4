"""Page loads for thousands of simulated browsers, cheap enough not to be what a join measures.

`urllib` in threads costs the load tool about a millisecond of CPU per page and a new TCP
connection each, whose port then waits out TIME_WAIT (a loopback address has ~28,000): at
thousands of pages the tool, not the server, set the pace. Here a few kept-alive HTTP/1.1
connections per server carry the GETs, as a browser's connection pool would, on the event loop.
Only plain `http://` with a Content-Length (what uvicorn sends for a page); anything else
(https behind a proxy, say) goes through `urllib` in a thread.
"""

import asyncio
import contextlib
import urllib.request
from urllib.parse import urlsplit

POOL = 8  # kept-alive connections per server: as many pages load at once
HEAD_LIMIT = 64 * 1024


class Unsupported(Exception):
    """A response this loader does not read (chunked, say): fetch it another way."""


class _Pool:
    """Kept-alive connections to one server, each carrying one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]
        self.idle = asyncio.Queue()
        for _ in range(POOL):
            self.idle.put_nowait(None)  # a slot; connected on first use

    async def get(self, target: str) -> tuple[int, bytes]:
        slot = await self.idle.get()
        try:
            for attempt in (1, 2):  # a kept-alive connection the server closed: once more
                if slot is None:
                    slot = await asyncio.open_connection(self.host, self.port)
                try:
                    return await self._exchange(*slot, target)
                except (ConnectionError, asyncio.IncompleteReadError):
                    slot[1].close()
                    slot = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            self.idle.put_nowait(slot)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str
    ) -> tuple[int, bytes]:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Accept: text/html\r\nUser-Agent: chat-bench\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEAD_LIMIT:
            raise Unsupported("response head too large")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        if "content-length" not in headers:
            raise Unsupported("no Content-Length")
        body = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            raise ConnectionResetError("the server closes this connection")  # after this one
        return int(status_line.split()[1]), body

    def close(self) -> None:
        while not self.idle.empty():
            if (slot := self.idle.get_nowait()) is not None:
                slot[1].close()


class Loader:
    """GETs pages over kept-alive connections, a pool per server."""

    def __init__(self) -> None:
        self.pools: dict[tuple[str, int], _Pool] = {}

    async def get(self, url: str) -> str:
        """The page at `url`, as text; raises OSError when it is not 200 OK."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            return await asyncio.to_thread(_urllib_get, url)
        key = (parts.hostname, parts.port or 80)
        pool = self.pools.get(key) or self.pools.setdefault(key, _Pool(*key))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            status, body = await pool.get(target or "/")
        except Unsupported:
            return await asyncio.to_thread(_urllib_get, url)
        if status != 200:
            raise OSError(f"GET {url}: HTTP {status}")
        return body.decode()

    def close(self) -> None:
        for pool in self.pools.values():
            with contextlib.suppress(Exception):
                pool.close()


def _urllib_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http/https only)
        return str(response.read().decode())
