"""From the keyboard alone, and as a screen reader hears it, in a real Chromium: send, rename,
switch language and room with a visible focus; one live region announces each new message and
another the connection changing, and neither repeats itself at every heartbeat."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browsing import ChatPage, fresh_room
from tests.servers import ChatServer

pytestmark = pytest.mark.browser

FOCUS_SHOWN = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


@pytest.fixture
def quick_server(tmp_path: Path) -> Iterator[ChatServer]:
    server = ChatServer(tmp_path, CHAT_HEARTBEAT="0.5").start()
    yield server
    server.stop()


def focused(page: Any) -> str:
    """What has the focus: `tag#id` or `tag[name=value]` or the element's text."""
    described: str = page.evaluate(
        """() => { const e = document.activeElement;
        return e.id ? `${e.tagName.toLowerCase()}#${e.id}`
             : e.name ? `${e.tagName.toLowerCase()}[${e.name}=${e.value}]`
             : e.className ? `${e.tagName.toLowerCase()}.${e.className}`
             : `${e.tagName.toLowerCase()}:${e.textContent.trim()}`; }"""
    )
    return described


def from_the_top(page: Any) -> None:
    """Shift+Tab back to the first stop of the page: the skip link."""
    tab_to(page, "a.skip", backwards=True)


def tab_to(page: Any, target: str, limit: int = 30, backwards: bool = False) -> None:
    """Press Tab until `target` (as `focused` describes it) has the focus, checking that every
    stop on the way shows where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        assert page.evaluate(FOCUS_SHOWN), f"no visible focus on {focused(page)}"
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target}")


def test_everything_works_from_the_keyboard_alone(server: ChatServer, context: Any) -> None:
    room = fresh_room("keys")
    chat = ChatPage(context, server.url, room).open()
    page = chat.page
    assert focused(page) == "input#message-input"  # the composer is ready to type in
    page.keyboard.type("typed, not clicked")
    page.keyboard.press("Enter")
    chat.wait_for_text("typed, not clicked")
    page.wait_for_function("() => document.activeElement.id === 'message-input'")
    page.keyboard.type("and again")  # focus stayed in the (new, empty) composer
    page.keyboard.press("Enter")
    chat.wait_for_text("and again")
    assert chat.texts() == ["typed, not clicked", "and again"]

    page.goto(chat.url)  # from the top: the skip link comes first
    chat.wait_online()
    from_the_top(page)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'main'")

    tab_to(page, "input#name-input")
    page.keyboard.press("Control+A")
    page.keyboard.type("Клава")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#members li')]"
        ".some(li => li.textContent.trim() === 'Клава')"
    )
    page.wait_for_function("() => document.activeElement.id === 'name-input'")

    from_the_top(page)
    tab_to(page, "button[language=ru]")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    chat.wait_online()
    assert page.locator("#chat-form button").inner_text() == "Отправить"
    assert chat.status() == "в сети"

    from_the_top(page)
    tab_to(page, "a:Комнаты")
    page.keyboard.press("Enter")
    page.wait_for_url("**/rooms")
    tab_to(page, "input#room-input")
    page.keyboard.type("Уголок")
    page.keyboard.press("Enter")
    page.wait_for_url("**/rooms/%D1%83%D0%B3%D0%BE%D0%BB%D0%BE%D0%BA")  # /rooms/уголок
    assert page.locator("h1").inner_text() == "#уголок"
    chat.wait_online()
    assert chat.console_errors == []


def test_screen_readers_hear_each_message_once_and_each_change_of_connection(
    quick_server: ChatServer, context: Any
) -> None:
    room = fresh_room("heard")
    ann = ChatPage(context, quick_server.url, room).open()
    bob = ChatPage(context, quick_server.url, room).open()
    page = ann.page
    page.wait_for_function("() => document.querySelectorAll('#messages li.notice').length >= 2")
    assert page.locator("#log").get_attribute("role") == "log"
    assert page.locator("#connection").get_attribute("role") == "status"
    # Mark the two live regions: a region that is still the same node has not been replaced.
    page.evaluate(
        "document.getElementById('log').dataset.seen = document.getElementById('connection').dataset.seen = 'yes'"
    )
    page.evaluate(
        """() => { window.heard = [];
        new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n =>
            n.nodeType === 1 && n.closest('[role=log]') && n.matches('li') &&
            window.heard.push(n.textContent.replace(/\\s+/g, ' ').trim())))
        ).observe(document.getElementById('log'), {childList: true, subtree: true}); }"""
    )
    heartbeats = page.evaluate("document.getElementById('status').className")
    bob.send("can you hear me?")
    ann.wait_for_text("can you hear me?")
    page.wait_for_function(  # polled by a timer, not by animation frames, which may pause
        "c => document.getElementById('status').className !== c",
        arg=heartbeats,
        polling=50,
        timeout=30_000,
    )  # at least one heartbeat replaced #status meanwhile
    assert page.evaluate("document.getElementById('log').dataset.seen") == "yes"
    assert page.evaluate("document.getElementById('connection').dataset.seen") == "yes"
    heard = [h for h in page.evaluate("window.heard") if "can you hear me?" in h]
    assert len(heard) == 1  # added once, inside the region that was there
    assert ann.status() == "online"  # the words did not change: nothing was announced

    quick_server.stop()
    ann.wait_for_status("offline", timeout=30_000)
    assert page.evaluate("document.getElementById('connection').dataset.seen") == "yes"
    words = page.locator("#connection").evaluate(
        "e => [...e.querySelectorAll('.label')].filter(l => l.checkVisibility({visibilityProperty: true})).map(l => l.textContent)"
    )
    assert words == ["offline"]  # the region's own words changed: announced
