"""Simulated browsers: load a chat page, open its socket, send what htmx's `ws-send` sends.

Each message carries a marker `~SEQ~NANOSECONDS~` in its text; a browser reports every marker
it finds in a frame, whatever markup surrounds it (our `<li>`, a naive server's, an echo), with
the id of the `<li id="msg-ID">` it sits in (0 when there is none). Each post carries the next
draft number (`n`), as the composer the server sends back after a post would.
Like Chromium, a browser offers permessage-deflate; if the server takes it, frames travel
compressed both ways (and the server pays for compressing each one it sends).
A page may ask for a language (`?lang=CODE` on its page and its socket, as a link to the chat in
that language would) and a time zone (`?tz=ZONE`, likewise): the server then renders its pushes
in that language's and zone's variant.
"""

import asyncio
import json
import random
import re
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from time import perf_counter_ns
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from chat.bench.loader import Loader

ITEM = b'id="msg-'  # an item's id attribute, `id="msg-ID"`: the messages after it are its
LETTERS = "abcdefghijklmnopqrstuvwxyz      "  # padding that compresses about as well as text
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"  # what Chromium sends
_TAIL = b"\x00\x00\xff\xff"
READ_BUFFER = 2048  # per browser: picows's 16 KB default is 800 MB at 50,000 pages; it grows
Received = Callable[[int, int, int, int], None]  # (browser index, seq, latency in ns, message id)


@dataclass(frozen=True, slots=True)
class Page:
    """What a loaded page tells its browser: where the socket is and what the form sends."""

    url: str
    socket_url: str
    form_id: str
    fields: dict[str, str]
    language: str = ""  # what it asked for (`?lang=`); "" for the server's choice
    served: str = ""  # the language the page came in (`<html lang>`), if it says
    zone: str = ""  # the time zone it asked for (`?tz=`); "" for the server's choice
    served_zone: str = ""  # the zone the page came in (`tz=` of its socket), if it says
    protocol: str = "htmx"  # what its socket speaks: htmx's JSON frames, or "socketio"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def room_url(self) -> str:
        """The page's address without its query (`?lang=`, `?tz=`)."""
        return urlunsplit(urlsplit(self.url)._replace(query="", fragment=""))


def with_query(url: str, **asked: str) -> str:
    """`url` with the `asked` parameters that are not empty, after any query it has."""
    added = urlencode({name: value for name, value in asked.items() if value})
    if not added:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="&".join(q for q in (parts.query, added) if q)))


def with_language(url: str, language: str) -> str:
    """`url` asking for `language` (`?lang=CODE`, after any query it has); `url` if none."""
    return with_query(url, lang=language)


def markers(payload: bytes) -> list[tuple[int, int, int]]:
    """(message id, seq, sent at) of each marker `~SEQ~NANOSECONDS~` in a frame, with the id
    of the `<li id="msg-ID">` it sits in (0 when there is none). Plain `find`s: on a 1.7 KB
    item a regular expression with alternatives cost the load tool several times more, and
    the load tool must stay lighter per delivery than the servers it measures."""
    found = []
    message_id = 0
    item = payload.find(ITEM)
    at = payload.find(b"~")
    while at >= 0:
        middle = payload.find(b"~", at + 1)
        end = payload.find(b"~", middle + 1) if middle > 0 else -1
        if end < 0:
            break
        seq, sent = payload[at + 1 : middle], payload[middle + 1 : end]
        if not (seq.isdigit() and sent.isdigit()):
            at = middle
            continue
        while 0 <= item < at:
            close = payload.find(b'"', item + len(ITEM))
            digits = payload[item + len(ITEM) : close]
            message_id = int(digits) if digits.isdigit() else 0
            item = payload.find(ITEM, close)
        found.append((message_id, int(seq), int(sent)))
        at = payload.find(b"~", end + 1)
    return found


class _PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.socket_path = ""
        self.form_id = ""
        self.fields: dict[str, str] = {}
        self.language = ""
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.language = found.get("lang", "")
        if "ws-connect" in found and not self.socket_path:
            self.socket_path = found["ws-connect"]
        if tag == "form" and "ws-send" in found and not self.form_id:
            self.form_id, self._in_form = found.get("id", ""), True
        elif self._in_form and tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def _essentials(html: str) -> str:
    """The tags `_PageReader` looks for, cut out of a page: `<html>`, the first tag with
    `ws-connect` and the last form with `ws-send` (the composer comes after the history, which
    may quote the words). Whatever is not found here is looked for in the whole page."""
    cuts = []
    for at, end in (
        (html.find("<html"), ">"),
        (html.find("ws-connect"), ">"),
        (html.rfind("ws-send"), "</form>"),
    ):
        if at >= 0 and (start := html.rfind("<", 0, at + 1)) >= 0:
            stop = html.find(end, at)
            cuts.append(html[start : stop + len(end)] if stop >= 0 else html[start:])
    return "".join(cuts)


async def read_page(
    url: str, language: str = "", zone: str = "", loader: Loader | None = None
) -> Page:
    """GET a chat page like a browser (a new session each time) and find its socket and form;
    with a `language` or a `zone`, page and socket both ask for it."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise ValueError(f"{url} is not an http:// or https:// address")
    url = with_query(url, lang=language, tz=zone)
    if loader is None:
        loader = Loader()
        try:
            html = await loader.get(url)
        finally:
            loader.close()
    else:
        html = await loader.get(url)
    reader = _PageReader()
    reader.feed(_essentials(html))  # a page's history is most of it, and costs most to parse
    if not reader.socket_path or "message" not in reader.fields:
        reader = _PageReader()
        reader.feed(html)
    if not reader.socket_path or "message" not in reader.fields:
        raise ValueError(
            f"{url} has no [ws-connect] element with a ws-send form and a message field"
        )
    socket_url = urljoin(url, reader.socket_path).replace("http", "ws", 1)
    served_zone = parse_qs(urlsplit(socket_url).query).get("tz", [""])[-1]
    socket_url = with_query(socket_url, lang=language, tz=zone)
    return Page(
        url, socket_url, reader.form_id, reader.fields, language, reader.language, zone, served_zone
    )


def spread(
    count: int, urls: list[str], languages: list[str], zones: list[str] | None = None
) -> list[tuple[str, str, str]]:
    """Where `count` pages come from, and the language and zone each asks for ("": none):
    page i from `urls[i % len(urls)]`, languages in turn within each server, zones in turn
    after each round of languages (so every server gets every pair of language and zone, and
    the first few pages, the senders, cover all of them)."""
    languages, zones = languages or [""], zones or [""]
    servers = len(urls)
    return [
        (
            urls[i % servers],
            languages[i // servers % len(languages)],
            zones[i // servers // len(languages) % len(zones)],
        )
        for i in range(count)
    ]


async def load_pages(
    urls: list[str],
    count: int,
    on_loaded: Callable[[], None],
    languages: list[str] | None = None,
    zones: list[str] | None = None,
    protocol: str = "htmx",
) -> list[Page]:
    """`count` page loads, a few at a time (as many browsers arriving), spread over `urls`,
    `languages` and `zones` (see `spread`)."""
    if protocol == "socketio":  # no page: the client connects straight to the socket
        from chat.bench.socketio import socketio_page

        pages = [socketio_page(url) for url, _, _ in spread(count, urls, [], [])]
        for _ in pages:
            on_loaded()
        return pages
    loader = Loader()  # a few kept-alive connections per server: as many pages load at once

    async def one(url: str, language: str, zone: str) -> Page:
        page = await read_page(url, language, zone, loader)
        on_loaded()
        return page

    where = spread(count, urls, languages or [], zones or [])
    try:
        return list(await asyncio.gather(*(one(*each) for each in where)))
    finally:
        loader.close()


class Browser(WSListener):
    """One open page. `send` posts a marked message; every marker received is reported."""

    def __init__(self, index: int, page: Page, received: Received) -> None:
        self.index = index
        self.page = page
        self.received = received
        self.transport: WSTransport | None = None
        self.closed = asyncio.Event()
        self.close_code: WSCloseCode | None = None
        self.frames = 0
        self.first = 0  # when its first frame arrived (perf_counter_ns), 0 until then
        self.fields = dict(page.fields)
        self._deflater: Any = None  # set when the server agrees to permessage-deflate
        self._inflater: Any = None
        self._fresh_inflater = False
        headers = {"HX-Request": "true", "HX-Trigger": page.form_id, "HX-Trigger-Name": None}
        self._headers = {**headers, "HX-Target": page.form_id, "HX-Current-URL": page.url}

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        agreed = transport.response.headers.get("sec-websocket-extensions", "") or ""
        if "permessage-deflate" in agreed:
            bits = re.search(r"client_max_window_bits=(\d+)", agreed)
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._deflater = zlib.compressobj(wbits=-int(bits[1]) if bits else -zlib.MAX_WBITS)
            self._fresh_inflater = "server_no_context_takeover" in agreed

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.frames += 1
            now = perf_counter_ns()
            if not self.first:
                self.first = now
            payload = frame.get_payload_as_bytes()
            if frame.rsv1:
                if self._fresh_inflater:
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                payload = self._inflater.decompress(payload + _TAIL)
            for message_id, seq, sent in markers(payload):
                self.received(self.index, seq, now - sent, message_id)
        elif frame.msg_type == WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.send_close(self.close_code or WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed.set()

    def send(self, seq: int, padding: int = 0) -> None:
        """Post message `seq` exactly as the page's form would (its fields, htmx's HEADERS)."""
        text = f"bench ~{seq}~{perf_counter_ns()}~ " + "".join(random.choices(LETTERS, k=padding))
        frame = {**self.fields, "message": text, "HEADERS": self._headers}
        if "n" in self.fields:
            self.fields["n"] = str(int(self.fields["n"]) + 1)
        payload = json.dumps(frame).encode()
        assert self.transport is not None
        if self._deflater is None:
            self.transport.send(WSMsgType.TEXT, payload)
            return
        packed = self._deflater.compress(payload) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        self.transport.send(WSMsgType.TEXT, packed.removesuffix(_TAIL), rsv1=True)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()


SOURCES = 250  # loopback addresses 127.0.0.1 to .250: one has ~28,000 ports, too few for 50,000
BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux: pick the port at connect


def socket_factory(index: int, *, stalled: bool = False) -> Callable[[Any], socket.socket | None]:
    """Sockets for browser `index`: to a loopback server, from one of `SOURCES` loopback
    addresses (so tens of thousands of pages do not run out of ports); a stalled browser's
    with a small receive buffer."""

    def make(url: Any) -> socket.socket | None:
        loopback = str(url.host).startswith("127.")
        if not (loopback or stalled):
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if stalled:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        if loopback:
            sock.setsockopt(socket.IPPROTO_IP, BIND_NO_PORT, 1)
            sock.bind((f"127.0.0.{1 + index % SOURCES}", 0))
        return sock

    return make


async def open_browser(
    index: int, page: Page, received: Received, *, stalled: bool = False
) -> Browser:
    """Open the page's socket (with its Origin, as a browser would); a stalled browser has a
    small receive buffer and never reads."""
    if page.protocol == "socketio":
        from chat.bench.socketio import open_socketio

        return await open_socketio(index, page, received, stalled=stalled)
    _, browser = await ws_connect(
        lambda: Browser(index, page, received),
        page.socket_url,
        extra_headers={"Origin": page.origin, "Sec-WebSocket-Extensions": DEFLATE_OFFER},
        socket_factory=socket_factory(index, stalled=stalled),
        websocket_handshake_timeout=30,
        read_buffer_init_size=READ_BUFFER,
    )
    assert isinstance(browser, Browser)
    if stalled and browser.transport is not None:
        browser.transport.underlying_transport.pause_reading()
    return browser
