"""`chat client`: chat from a terminal. Messages print as `name :: text`; lines you type are sent.

Notices (`-- ann joined`) and changes to messages (`~~ ann edited “hi”: hello`) go to stdout
with the messages; connection news and refusals go to stderr (`** …`, `!! …`) so a pipe carries
the conversation only. Colours when stdout is a terminal.
"""

import asyncio
import codecs
import contextlib
import os
import signal
import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TextIO

from chat.client import ChatClient, Event, Refused, Unreachable

NAME_COMMAND = "/name "
_COLOURS = ["31", "32", "33", "34", "35", "36"]
REMEMBERED = 1000  # messages whose author and text a later change can name
QUOTED = 40  # characters of a changed message's text shown to say which one it was


class Printer:
    """Turns events into lines; ANSI colours only when writing to a terminal."""

    def __init__(self, out: TextIO, err: TextIO, colour: bool) -> None:
        self.out, self.err, self.colour = out, err, colour
        self._seen: OrderedDict[int, tuple[str, str]] = OrderedDict()  # id -> author, text

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def event(self, event: Event) -> None:
        kind = event["type"]
        if kind == "message":
            self._message(event)
        elif kind in {"join", "leave", "rename"}:
            print(self._paint(f"-- {event['text']}", "2"), file=self.out)
        elif kind in {"edit", "delete", "reactions"}:
            print(self._paint(f"~~ {self._change(event)}", "2"), file=self.out)
        elif kind == "error":
            self.error(event["message"])
        else:
            return
        self.out.flush()

    def _message(self, event: Event) -> None:
        code = _COLOURS[zlib.crc32(event["author_key"].encode()) % len(_COLOURS)]
        author = self._paint(event["author"], "1;" + code)
        if event.get("deleted"):
            print(f"{author} :: {self._paint('(deleted)', '2')}", file=self.out)
            return
        edited = self._paint(" (edited)", "2") if event.get("edited") else ""
        print(f"{author} :: {event['text']}{edited}", file=self.out)
        self._remember(event)

    def _change(self, event: Event) -> str:
        """One line saying what happened to which message (named by its author and text)."""
        author, text = self._seen.get(event["id"], ("", ""))
        which = f"“{_shortened(text)}”" if author else f"message {event['id']}"
        if event["type"] == "edit":
            self._remember(event)
            return f"{event['author']} edited {which}: {event['text']}"
        if event["type"] == "delete":
            self._seen.pop(event["id"], None)
            return f"{author} deleted {which}" if author else f"{which} was deleted"
        given = [f"{r['emoji']} {r['count']} ({', '.join(r['names'])})" for r in event["reactions"]]
        whose = f"{author}'s {which}" if author else which
        return f"reactions to {whose}: {'  '.join(given)}" if given else f"no reactions to {whose}"

    def _remember(self, message: Event) -> None:
        self._seen[message["id"]] = (message["author"], message["text"])
        self._seen.move_to_end(message["id"])
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)

    def status(self, text: str) -> None:
        print(self._paint(f"** {text}", "2"), file=self.err, flush=True)

    def error(self, text: str) -> None:
        print(self._paint(f"!! {text}", "31"), file=self.err, flush=True)


def _shortened(text: str) -> str:
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def quit_on_sigterm() -> None:
    """Leave on SIGTERM as on Ctrl+C: close the connection properly, exit 0."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


async def lines(fd: int = 0) -> AsyncIterator[str]:
    """Lines of `fd` (a terminal, a pipe or a file) without blocking the event loop.

    A daemon thread calls os.read, which holds no interpreter lock, so Ctrl+C and exit never
    wait for it (a thread blocked in sys.stdin.readline can hang interpreter shutdown).
    """
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            if not chunk:
                return

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    decoder, pending = codecs.getincrementaldecoder("utf-8")("replace"), ""
    while chunk := await chunks.get():
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line.removesuffix("\r")
    if pending := pending + decoder.decode(b"", final=True):
        yield pending


async def converse(client: ChatClient, printer: Printer, fd: int = 0) -> None:
    """Send each line of input (`/name NEW` renames); return once all of it is acknowledged."""
    await client.ready()
    async for line in lines(fd):
        if line.startswith(NAME_COMMAND):
            reply = await client.rename(line.removeprefix(NAME_COMMAND))
        elif line.strip():
            reply = await client.send(line)
        else:
            continue
        if reply["type"] == "error":
            printer.error(reply["message"])


async def chat_in_terminal(client: ChatClient, printer: Printer, fd: int = 0) -> int:
    """Run until the input ends (0), or the server refuses us or cannot be reached (1)."""
    connection = asyncio.create_task(client.run())
    talking = asyncio.create_task(converse(client, printer, fd))
    try:
        await asyncio.wait({connection, talking}, return_when=asyncio.FIRST_COMPLETED)
        if connection.done():
            connection.result()  # raises what ended it
        await talking
        return 0
    except (Refused, Unreachable) as error:
        printer.error(str(error))
        return 1
    finally:
        for task in (talking, connection):
            task.cancel()
        with contextlib.suppress(Exception):
            await client.close()


def run_client(url: str, room: str, name: str | None) -> int:
    quit_on_sigterm()
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    printer = Printer(sys.stdout, sys.stderr, colour)
    client = ChatClient(url, room, name, on_event=printer.event, on_status=printer.status)
    try:
        return asyncio.run(chat_in_terminal(client, printer))
    except KeyboardInterrupt:  # Ctrl+C: asyncio.run has already closed the connection
        printer.status("bye")
        return 0
