"""Many people and rooms in real Chromium contexts: broadcast, presence, history, no-JS posts."""

from pathlib import Path
from typing import Any

import pytest

from tests.browsing import ChatPage, fresh_room
from tests.clients import RawClient
from tests.servers import ChatServer

pytestmark = pytest.mark.browser


def test_two_people_see_each_other_and_each_others_messages(
    server: ChatServer, browser: Any
) -> None:
    room = fresh_room()
    alice_context, bob_context = browser.new_context(), browser.new_context()
    alice = ChatPage(alice_context, server.url, room).open()
    bob = ChatPage(bob_context, server.url, room).open()
    alice_name = alice.page.input_value("#name-input")
    bob_name = bob.page.input_value("#name-input")
    alice.page.wait_for_function(
        "n => document.querySelectorAll('#members li').length === n", arg=2
    )
    assert sorted(alice.members()) == sorted(bob.members()) == sorted([alice_name, bob_name])
    alice.send("hi bob")
    bob.wait_for_text("hi bob")
    bob.send("hi alice")
    alice.wait_for_text("hi alice")
    assert alice.texts() == bob.texts() == ["hi bob", "hi alice"]
    assert alice.numbers() == bob.numbers() == [1, 1]
    # Each sees their own message marked as theirs, and the other's not.
    assert alice.marked_mine() == [True, False]
    assert bob.marked_mine() == [False, True]
    bob_context.close()
    alice.page.wait_for_function(
        "n => document.querySelectorAll('#members li').length === n", arg=1
    )
    alice.page.wait_for_selector(f"#messages li.notice:has-text('{bob_name} left')")
    alice_context.close()


def test_rooms_are_isolated(server: ChatServer, context: Any) -> None:
    here = ChatPage(context, server.url, fresh_room()).open()
    there = ChatPage(context, server.url, fresh_room()).open()
    here.send("only here")
    there.send("only there")
    assert here.texts() == ["only here"]
    assert there.texts() == ["only there"]


def test_a_page_loaded_later_shows_the_history(server: ChatServer, context: Any) -> None:
    room = fresh_room()
    first = ChatPage(context, server.url, room).open()
    for text in ["one", "two", "three"]:
        first.send(text)
    later = ChatPage(context, server.url, room).open()
    assert later.texts() == ["one", "two", "three"]
    assert later.numbers() == [1, 2, 3]


def test_after_105_messages_an_open_page_keeps_them_and_a_new_one_shows_the_last_100(
    server: ChatServer, context: Any
) -> None:
    room = fresh_room()
    watching = ChatPage(context, server.url, room).open()
    sender = RawClient(server.url, room)
    for n in range(1, 106):
        sender.send_and_wait(f"message {n}")
    sender.close()
    watching.page.wait_for_function(
        "() => [...document.querySelectorAll('#messages li[data-n] .text')].at(-1)?.textContent"
        " === 'message 105'"
    )
    assert watching.texts() == [
        f"message {n}" for n in range(1, 106)
    ]  # an open page keeps every one
    loaded = ChatPage(context, server.url, room).open()
    assert loaded.texts() == [f"message {n}" for n in range(6, 106)]
    assert loaded.page.locator("#older li.more").count() == 1  # the first five, on demand


def test_without_javascript_posts_number_in_the_session_and_reach_live_pages(
    server: ChatServer, browser: Any, context: Any
) -> None:
    room = fresh_room()
    live = ChatPage(context, server.url, room).open()
    no_js = browser.new_context(java_script_enabled=False)
    page = no_js.new_page()
    page.goto(f"{server.url}/rooms/{room}")
    for text in ["plain 1", "plain 2", "plain 3"]:
        page.fill("#chat-form input[name=message]", text)
        with page.expect_navigation():
            page.click("#chat-form [type=submit]")
        assert page.url == f"{server.url}/rooms/{room}"
    mine = page.locator("#messages li[data-n]").evaluate_all(
        "items => items.map(li => li.dataset.n)"
    )
    assert mine == ["1", "2", "3"]
    live.wait_for_text("plain 3")
    assert live.texts() == ["plain 1", "plain 2", "plain 3"]
    page.reload()
    page.fill("#chat-form input[name=message]", "after a reload")
    with page.expect_navigation():
        page.click("#chat-form [type=submit]")
    assert page.locator("#messages li[data-n]").last.get_attribute("data-n") == "1"
    no_js.close()


def test_a_name_can_be_changed_is_unique_and_survives_a_reload(
    server: ChatServer, browser: Any
) -> None:
    room = fresh_room()
    ann_context, bob_context = browser.new_context(), browser.new_context()
    ann = ChatPage(ann_context, server.url, room).open()
    bob = ChatPage(bob_context, server.url, room).open()
    ann.page.fill("#name-input", "Ann <b>")
    ann.page.click("#name-form [type=submit]")
    bob.page.wait_for_selector("#members li:text-is('Ann <b>')")
    bob.page.wait_for_selector("#messages li.notice:has-text('is now Ann <b>')")
    bob.page.fill("#name-input", "ann <b>")
    bob.page.click("#name-form [type=submit]")
    bob.page.wait_for_selector("#name-error:has-text('already called')")
    ann.send("hello")
    assert ann.page.locator("#messages li[data-n] .author").first.inner_text() == "Ann <b>"
    assert ann.marked_mine() == [True]
    ann.page.reload()
    ann.wait_online()
    assert ann.page.input_value("#name-input") == "Ann <b>"
    ann_context.close()
    bob_context.close()


def test_history_survives_a_server_restart(tmp_path: Path, context: Any) -> None:
    chat_server = ChatServer(tmp_path).start()
    room = fresh_room()
    try:
        page = ChatPage(context, chat_server.url, room).open()
        page.send("before the restart")
        page.send("me too")
        assert chat_server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
        chat_server.start()
        again = ChatPage(context, chat_server.url, room).open()
        assert again.texts() == ["before the restart", "me too"]
    finally:
        chat_server.stop()
