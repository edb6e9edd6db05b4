"""A designer's hour in a real Chromium: override one block from a folder, see it on the page
and live, edit templates and CSS under `chat serve --reload`, break a block and keep chatting."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat.rendering import asset_dir
from tests.browsing import ChatPage, fresh_room
from tests.html import one, parse
from tests.servers import ChatServer

pytestmark = pytest.mark.browser


def message_block(look: Path, body: str) -> None:
    (look / "room.html").write_text(
        '{% extends "default:room.html" %}\n{% block message %}\n' + body + "\n{% endblock %}\n"
    )


STAMPED = (
    '<li id="msg-{{ m.id }}" data-n="{{ m.n }}" data-author="{{ m.author_key }}">'
    '<span class="stamp">{{ stamp }}</span> <span class="author">{{ m.author }}</span>'
    '<span class="you"> (you)</span> <span class="text">{{ m.text }}</span></li>'
)


def stamped(stamp: str) -> str:
    return "{% set stamp = '" + stamp + "' %}" + STAMPED


@pytest.fixture
def designer(tmp_path: Path) -> Iterator[tuple[ChatServer, Path, Path]]:
    look, assets = tmp_path / "look", tmp_path / "assets"
    look.mkdir()
    assets.mkdir()
    message_block(look, stamped("✦"))
    server = ChatServer(
        tmp_path,
        CHAT_TEMPLATES_DIR=str(look),
        CHAT_STATIC_DIR=str(assets),
        CHAT_RATE_PER_SECOND="100",
        CHAT_RATE_BURST="100",
    ).start("--reload")
    yield server, look, assets
    server.stop()


def stamps(page: ChatPage) -> list[str]:
    return [s.strip() for s in page.page.locator("#messages li[data-n] .stamp").all_inner_texts()]


def test_an_override_a_live_edit_and_a_broken_block(
    designer: tuple[ChatServer, Path, Path], browser: Any
) -> None:
    server, look, assets = designer
    room = fresh_room("look")
    ann = ChatPage(browser.new_context(), server.url, room).open()
    bob = ChatPage(browser.new_context(), server.url, room).open()
    ann.send("first")  # a live push, rendered from the designer's block
    bob.wait_for_text("first")
    assert stamps(ann) == stamps(bob) == ["✦"]
    ann.page.reload()
    ann.wait_online()
    assert stamps(ann) == ["✦"]  # the page renders the same block

    # Edit the block and the CSS: no restart, the next load and the next push show them.
    message_block(look, stamped("✧"))
    shutil.copy(asset_dir("static") / "chat.css", assets / "chat.css")
    with (assets / "chat.css").open("a") as css:
        css.write("\n.stamp { color: rgb(200, 0, 0); }\n")
    ann.send("second")
    bob.wait_for_text("second")
    assert stamps(bob) == ["✦", "✧"]
    bob.page.reload()
    bob.wait_online()
    assert stamps(bob) == ["✧", "✧"]
    colour = bob.page.locator(".stamp").first.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(200, 0, 0)"

    # Break the block on purpose: the error shows where the message would have gone, nobody is
    # disconnected, and once it is fixed the next messages arrive as usual.
    message_block(look, "<li>{{ session.key }}</li>")
    ann.page.fill("#chat-form input[name=message]", "into the broken block")
    ann.page.press("#chat-form input[name=message]", "Enter")
    for page in (ann, bob):
        page.page.wait_for_selector("#messages li.template-error")
        error = one(page.page.content(), "li.template-error").get_text()
        assert "'session' is undefined" in error and "room.html" in error
    message_block(look, stamped("✓"))
    ann.send("after the fix")
    bob.wait_for_text("after the fix")
    assert stamps(bob)[-1] == "✓" and ann.status() == bob.status() == "online"
    texts = [m["text"] for m in _stored(server, room)]
    assert texts == ["first", "second", "into the broken block", "after the fix"]
    assert "'session' is undefined" in server.log()


def _stored(server: ChatServer, room: str) -> list[dict[str, Any]]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/rooms/{room}/messages.json") as response:
        found: list[dict[str, Any]] = json.load(response)["messages"]
        return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_gallery_in_light_and_dark(
    designer: tuple[ChatServer, Path, Path], browser: Any, scheme: str, tmp_path: Path
) -> None:
    server, _, _ = designer
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/gallery")
    html = page.content()
    assert len(parse(html).select(".specimen")) >= 20 and errors == []
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert (background == "rgb(20, 23, 29)") is (scheme == "dark")
    page.screenshot(path=str(tmp_path / f"gallery-{scheme}.png"), full_page=True)
    context.close()
