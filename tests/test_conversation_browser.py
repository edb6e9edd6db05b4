"""The conversation as people live in it, in Chromium at desktop and phone sizes: the newest
message and the composer in view, a reader scrolled up left where they were, older history
loaded page by page as they scroll up, to the start of the room."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chat.store import NewMessage, open_store
from tests.browsing import ChatPage
from tests.clients import RawClient
from tests.servers import ChatServer

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
HISTORY = 237  # more than two pages of 100 shown and pages of 50 loaded


def fill(database: Path, room: str, count: int) -> None:
    async def add() -> None:
        store = open_store(f"sqlite:///{database}")
        await store.start()
        start = datetime.now(UTC) - timedelta(days=3)
        try:
            for n in range(1, count + 1):
                who = "bob" if n % 3 else "ann"
                await store.add(
                    NewMessage(
                        room, who, f"key-{who}", n, f"message {n}", start + timedelta(minutes=7 * n)
                    )
                )
        finally:
            await store.close()

    asyncio.run(add())


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    workdir = tmp_path_factory.mktemp("conversation")
    fill(workdir / "chat.db", "busy", HISTORY)
    server = ChatServer(workdir, CHAT_RATE_PER_SECOND="1000", CHAT_RATE_BURST="1000").start()
    yield server
    server.stop()


IN_VIEW = """sel => { const all = document.querySelectorAll(sel), r = all[all.length - 1].getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth; }"""
LAST = "#messages li[data-n]"  # IN_VIEW looks at the last one


def texts(page: Any) -> list[str]:
    found: list[str] = page.locator(
        "#older li[data-n] .text, #messages li[data-n] .text"
    ).all_inner_texts()
    return found


def scroll_to_the_start(page: Any, pages: int = 10) -> None:
    """Scroll up to the oldest message shown, page after page, until the room's start."""
    for _ in range(pages):
        if page.locator("#older li.start").count():
            return
        shown = len(texts(page))
        page.evaluate("document.querySelector('#older li').scrollIntoView()")
        page.wait_for_function(
            "n => document.querySelectorAll('#older li[data-n], #messages li[data-n]').length > n"
            " || document.querySelector('#older li.start')",
            arg=shown,
        )


@pytest.mark.parametrize("size", list(SIZES))
def test_the_newest_message_and_the_composer_are_in_view(
    busy_server: ChatServer, browser: Any, size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        chat = ChatPage(context, busy_server.url, "busy").open()
        page = chat.page
        assert page.evaluate("document.scrollingElement.scrollTop") == 0
        assert page.evaluate(IN_VIEW, LAST) and page.evaluate(IN_VIEW, "#message-input")
        chat.send("a new one")
        assert page.evaluate(IN_VIEW, LAST) and page.evaluate(IN_VIEW, "#message-input")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_a_reader_scrolled_up_stays_where_they_were(busy_server: ChatServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        reader = ChatPage(context, busy_server.url, "busy").open()
        writer = ChatPage(context, busy_server.url, "busy").open()
        page = reader.page
        page.wait_for_function("() => document.querySelectorAll('#messages li.notice').length >= 2")
        reading = "#msg-200"
        page.locator(reading).scroll_into_view_if_needed()
        page.wait_for_function(IN_VIEW, arg=reading)
        top = page.evaluate(f"document.querySelector('{reading}').getBoundingClientRect().top")
        count = reader.count()
        writer.send("while you were reading")
        reader.wait_for_count(count + 1)
        after = page.evaluate(f"document.querySelector('{reading}').getBoundingClientRect().top")
        assert abs(after - top) < 2  # not moved, let alone yanked to the bottom
        assert not page.evaluate(IN_VIEW, LAST)
    finally:
        context.close()


def test_scrolling_up_loads_older_pages_to_the_start_of_the_room(
    busy_server: ChatServer, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        chat = ChatPage(context, busy_server.url, "busy").open()
        page = chat.page
        scroll_to_the_start(page)
        found = texts(page)
        stored = [f"message {n}" for n in range(1, HISTORY + 1)]
        assert found[: len(stored)] == stored  # every one once, in order, from the very first
        assert page.locator("#older li.start").count() == 1
        days = page.locator("li.day").all_inner_texts()
        assert len(days) == len(set(days)) >= 2  # each day named once, where it starts
        assert chat.console_errors == []
    finally:
        context.close()


def test_without_javascript_older_messages_are_a_link(
    busy_server: ChatServer, browser: Any
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(busy_server.url + "/rooms/busy")
        link = page.locator("#older li.more a")
        first_shown = page.locator("#messages li[data-n] .text").first.inner_text()
        link.click()
        page.wait_for_url("**before=*")
        older = page.locator("#messages li[data-n] .text").all_inner_texts()
        assert older[-1] == f"message {int(first_shown.split()[-1]) - 1}"
        assert page.locator("a", has_text="newest").count() == 1
    finally:
        context.close()


def test_a_page_open_for_long_keeps_every_message_and_a_new_one_starts_small(
    tmp_path: Path, browser: Any
) -> None:
    server = ChatServer(
        tmp_path, CHAT_HISTORY_SIZE="10", CHAT_RATE_PER_SECOND="1000", CHAT_RATE_BURST="1000"
    ).start()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        chat = ChatPage(context, server.url, "long").open()
        sender = RawClient(server.url, "long")
        for n in range(1, 56):
            sender.send_and_wait(f"live {n}")
        sender.close()
        chat.wait_for_text("live 55")
        assert chat.texts() == [f"live {n}" for n in range(1, 56)]  # nothing dropped, no gap
        fresh = ChatPage(context, server.url, "long").open()
        assert fresh.texts() == [f"live {n}" for n in range(46, 56)]  # the last 10
        page = fresh.page
        scroll_to_the_start(page)
        assert texts(page) == [f"live {n}" for n in range(1, 56)]  # each once, in order
    finally:
        context.close()
        server.stop()


def test_a_message_that_mentions_you_is_marked_for_you(
    busy_server: ChatServer, browser: Any
) -> None:
    contexts = [browser.new_context() for _ in range(2)]
    try:
        ann, bob = (ChatPage(c, busy_server.url, "mentions").open() for c in contexts)
        ann.page.fill("#name-input", "Аня")
        ann.page.press("#name-input", "Enter")
        bob.page.wait_for_function(
            "() => [...document.querySelectorAll('#members li')].some(li => li.textContent.trim() === 'Аня')"
        )
        bob.send("@аня смотри https://example.com/doc.")
        marked = "li[data-n]:has(mark.mention)"
        ann.page.wait_for_selector(f"#messages {marked}")
        shadow = "s => getComputedStyle(document.querySelector(s)).boxShadow"
        assert ann.page.evaluate(shadow, f"#messages {marked}") != "none"  # for Аня
        bob.page.wait_for_selector(f"#messages {marked}")
        assert bob.page.evaluate(shadow, f"#messages {marked}") == "none"  # not for Bob
        link = ann.page.locator("#messages li[data-n] .text a")
        assert link.get_attribute("href") == "https://example.com/doc"
        assert link.get_attribute("rel") == "noopener noreferrer nofollow ugc"
    finally:
        for context in contexts:
            context.close()
