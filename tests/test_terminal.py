"""`chat client` and `chat demo` as real processes against a real server (and a real browser)."""

import io
import json
import os
import pty
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chat.terminal import Printer
from tests.browsing import ChatPage, fresh_room
from tests.clients import RawClient
from tests.servers import ChatServer, wait_until
from tests.terminals import CHAT, ChatProcess, JsonClient


def stored(server: ChatServer, room: str) -> list[tuple[str, int, str]]:
    with urllib.request.urlopen(f"{server.url}/rooms/{room}/messages.json") as response:
        return [(m["author"], m["n"], m["text"]) for m in json.load(response)["messages"]]


def test_piped_lines_are_sent_and_the_client_exits_0(server: ChatServer) -> None:
    room = fresh_room()
    result = subprocess.run(
        ["bash", "-c", f"printf 'a\\nb\\n' | {CHAT} client {room} --url {server.url} --name pipe"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert stored(server, room) == [("pipe", 1, "a"), ("pipe", 2, "b")]
    assert "\x1b[" not in result.stdout + result.stderr  # plain text in a pipe


@pytest.mark.browser
def test_a_browser_the_terminal_and_a_json_program_chat_in_one_room(
    server: ChatServer, context: Any
) -> None:
    room = fresh_room()
    page = ChatPage(context, server.url, room).open()
    person = page.page.input_value("#name-input")
    terminal = ChatProcess("client", room, "--url", server.url, "--name", "term")
    program = JsonClient(server.url, room, "bot-json")
    try:
        terminal.wait_for("joined", stream="err")
        page.page.wait_for_selector("#members li:text-is('term')")
        page.page.wait_for_selector("#members li:text-is('bot-json')")

        page.send("hello from the page")
        terminal.wait_for(f"{person} :: hello from the page")
        program.wait_for_message("hello from the page")

        terminal.say("hello from the terminal")
        page.wait_for_text("hello from the terminal")
        assert program.wait_for_message("hello from the terminal")["author"] == "term"

        program.send("hello from json")
        page.wait_for_text("hello from json")
        terminal.wait_for("bot-json :: hello from json")

        assert page.texts() == ["hello from the page", "hello from the terminal", "hello from json"]
        assert terminal.end_input() == 0
        page.page.wait_for_selector("#messages li.notice:has-text('term left')")
    finally:
        terminal.stop()
        program.close()


def test_the_client_survives_a_server_restart(tmp_path: Path) -> None:
    chat_server = ChatServer(tmp_path).start()
    room = fresh_room()
    terminal = ChatProcess("client", room, "--url", chat_server.url, "--name", "steady")
    try:
        terminal.say("before")
        terminal.wait_for("steady :: before")
        chat_server.kill()
        terminal.wait_for("reconnecting", stream="err")
        terminal.say("typed while the server was down")
        chat_server.start()
        terminal.wait_for("reconnected", stream="err")
        with RawClient(chat_server.url, room) as other:
            other.send_and_wait("after the restart")
        terminal.wait_for(":: after the restart")
        terminal.say("after")
        wait_until(lambda: len(stored(chat_server, room)) == 4, what="four stored messages")
        assert terminal.end_input() == 0
        mine = [(n, text) for author, n, text in stored(chat_server, room) if author == "steady"]
        assert mine == [(1, "before"), (2, "typed while the server was down"), (3, "after")]
        shown = [line for line in terminal.out if " :: " in line]
        assert len(shown) == len(set(shown)) == 4  # history after the reconnect is not repeated
    finally:
        terminal.stop()
        chat_server.stop()


def test_colours_on_a_terminal(server: ChatServer) -> None:
    room = fresh_room()
    controller, tty = pty.openpty()
    process = subprocess.Popen(
        [CHAT, "client", room, "--url", server.url, "--name", "colourful"],
        stdin=subprocess.PIPE,
        stdout=tty,
        stderr=tty,
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
    )
    os.close(tty)
    try:
        assert process.stdin is not None
        process.stdin.write(b"in colour\n")
        process.stdin.flush()
        seen = b""
        while b":: in colour" not in seen:
            seen += os.read(controller, 4096)
        assert b"\x1b[" in seen and b"colourful" in seen
        process.stdin.close()
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


def test_ctrl_c_exits_cleanly(server: ChatServer) -> None:
    terminal = ChatProcess("client", fresh_room(), "--url", server.url)
    try:
        terminal.wait_for("joined", stream="err")
        assert terminal.interrupt() == 0
        assert not any("Traceback" in line for line in terminal.err), terminal.err
    finally:
        terminal.stop()


def test_a_bad_room_is_refused_before_connecting() -> None:
    result = subprocess.run(
        [CHAT, "client", "no spaces", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "letters (of any alphabet), digits" in result.stderr


def test_an_unreachable_server_is_reported() -> None:
    result = subprocess.run(
        [CHAT, "client", "--url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and "cannot reach" in result.stderr


@pytest.mark.browser
def test_demo_bots_chat_live_and_greet_people(server: ChatServer, context: Any) -> None:
    room = fresh_room()
    page = ChatPage(context, server.url, room).open()
    person = page.page.input_value("#name-input")
    demo = ChatProcess("demo", room, "--url", server.url, "--bots", "2", "--pace", "0.3")
    try:
        page.page.wait_for_function(
            "() => new Set([...document.querySelectorAll('#messages li[data-n] .author')]"
            ".map(e => e.textContent).filter(a => a.endsWith('(bot)'))).size === 2"
        )
        page.send("hello bots")
        page.wait_for_text(f"Hello {person}!")
        assert demo.interrupt() == 0
        assert not any("Traceback" in line for line in demo.err), demo.err
    finally:
        demo.stop()


def test_edits_deletes_and_reactions_are_told_by_which_message() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = Printer(out, err, colour=False)
    hi = {"type": "message", "room": "r", "id": 5, "author": "ann", "author_key": "k1"}
    for event in [
        {**hi, "text": "helo", "edited": None, "deleted": False},
        {**hi, "type": "edit", "text": "hello", "edited": "2026-01-01T00:00:00+00:00"},
        {"type": "reactions", "room": "r", "id": 5, "reactions": []},
        {
            "type": "reactions",
            "room": "r",
            "id": 5,
            "reactions": [
                {"emoji": "👍", "count": 2, "names": ["bob", "cleo"], "owners": ["b1", "b2"]},
                {"emoji": "🎉", "count": 1, "names": ["bob"], "owners": ["b1"]},
            ],
        },
        {"type": "delete", "room": "r", "id": 5},
        {"type": "delete", "room": "r", "id": 9},  # one from before we joined
        {**hi, "id": 6, "text": "", "edited": "2026-01-01T00:00:00+00:00", "deleted": True},
        {**hi, "id": 7, "text": "fixed", "edited": "2026-01-01T00:00:00+00:00", "deleted": False},
    ]:
        printer.event(event)
    assert out.getvalue().splitlines() == [
        "ann :: helo",
        "~~ ann edited “helo”: hello",
        "~~ no reactions to ann's “hello”",
        "~~ reactions to ann's “hello”: 👍 2 (bob, cleo)  🎉 1 (bob)",
        "~~ ann deleted “hello”",
        "~~ message 9 was deleted",
        "ann :: (deleted)",
        "ann :: fixed (edited)",
    ]
    assert err.getvalue() == ""


def test_the_terminal_shows_what_a_program_changes(server: ChatServer) -> None:
    room = fresh_room()
    terminal = ChatProcess("client", room, "--url", server.url, "--name", "watcher")
    program = JsonClient(server.url, room, "fixer")
    try:
        terminal.wait_for("joined", stream="err")
        program.send("teh end")
        number = program.wait_for_message("teh end")["id"]
        terminal.wait_for("fixer :: teh end")
        for command in [
            {"type": "edit", "id": number, "text": "the end"},
            {"type": "react", "id": number, "emoji": "🎉"},
            {"type": "delete", "id": number},
        ]:
            program.ws.send(json.dumps(command))
        terminal.wait_for("~~ fixer edited “teh end”: the end")
        terminal.wait_for("~~ reactions to fixer's “the end”: 🎉 1 (fixer)")
        terminal.wait_for("~~ fixer deleted “the end”")
        assert terminal.end_input() == 0
        assert not any("Traceback" in line for line in terminal.err), terminal.err
    finally:
        terminal.stop()
        program.close()
