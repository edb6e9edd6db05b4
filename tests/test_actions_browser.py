"""What people do to messages, seen from another person's page, in Chromium: edit in place,
delete, react, and search (a result opens the message in its history); with the mouse and with
the keyboard alone, at desktop and phone sizes; a page that reloads shows the same."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browsing import ChatPage, fresh_room
from tests.servers import ChatServer
from tests.test_conversation_browser import fill

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1200, "height": 800}, "phone": {"width": 390, "height": 844}}
IN_VIEW = """sel => { const r = document.querySelector(sel).getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight; }"""


@pytest.fixture(scope="module")
def history_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """A server with a long room ("busy": "message 1" … "message 237") and room for more."""
    workdir = tmp_path_factory.mktemp("actions")
    fill(workdir / "chat.db", "busy", 237)
    server = ChatServer(workdir, CHAT_RATE_PER_SECOND="1000", CHAT_RATE_BURST="1000").start()
    yield server
    server.stop()


@pytest.fixture(params=list(SIZES))
def people(history_server: ChatServer, browser: Any, request: Any) -> Iterator[list[ChatPage]]:
    """Ann and Bob in a room of their own, each in their own browser, at one size."""
    room = fresh_room("actions")
    contexts = [
        browser.new_context(viewport=SIZES[request.param], is_mobile=request.param == "phone")
        for _ in range(2)
    ]
    chats = []
    for context in contexts:
        context.set_default_timeout(10_000)
        chat = ChatPage(context, history_server.url, room).open()
        chat.page.on("dialog", lambda dialog: dialog.accept())
        chats.append(chat)
    yield chats
    for chat in chats:
        assert not chat.console_errors, chat.console_errors
    for context in contexts:
        context.close()


def message(chat: ChatPage, text: str) -> Any:
    """The list item of the message that says `text` (or said it, before an edit)."""
    return chat.page.locator("#messages li[data-n]", has_text=text)


def test_an_edit_in_place_shows_on_the_other_page(people: list[ChatPage]) -> None:
    ann, bob = people
    ann.send("See you at ten")
    bob.wait_for_text("See you at ten")
    mine = message(ann, "See you at ten")
    assert mine.locator(".mine a").is_visible()  # the author's page offers Edit and Delete
    assert not message(bob, "See you at ten").locator(".mine").is_visible()  # nobody else's

    mine.locator(".mine a").click()  # Cancel brings the message back, unchanged
    ann.page.locator("li.editing a.cancel").click()
    ann.page.wait_for_selector("#messages li[data-n] .mine a")
    assert ann.texts() == ["See you at ten"] and not ann.page.locator(".edited").count()

    mine.locator(".mine a").click()
    field = ann.page.locator("li.editing input[name=text]")
    assert field.evaluate("e => e === document.activeElement")
    field.fill("See you at eleven")
    field.press("Enter")
    bob.wait_for_text("See you at eleven")
    assert message(bob, "See you at eleven").locator(".edited").is_visible()
    assert "See you at ten" not in bob.texts()
    ann.wait_for_text("See you at eleven")

    bob.page.reload()
    bob.wait_online()
    assert bob.texts() == ["See you at eleven"]
    assert message(bob, "See you at eleven").locator(".edited").is_visible()


def test_a_deleted_message_leaves_a_placeholder_on_the_other_page(people: list[ChatPage]) -> None:
    ann, bob = people
    ann.send("my password is hunter2")
    bob.wait_for_text("my password is hunter2")
    message(ann, "hunter2").locator(".mine button").click()  # the dialog is accepted
    bob.page.wait_for_selector("#messages li.deleted")
    assert "hunter2" not in bob.page.locator("#messages").inner_text()
    assert bob.texts() == ["This message was deleted."]
    assert not bob.page.locator("#messages li.deleted .actions").count()
    ann.page.reload()
    ann.wait_online()
    assert "hunter2" not in ann.page.locator("#messages").inner_text()
    assert ann.page.locator("#messages li.deleted").count() == 1


def test_a_reaction_is_counted_named_and_taken_back(people: list[ChatPage]) -> None:
    ann, bob = people
    bob.page.fill("#name-form input[name=name]", "Bob")
    bob.page.press("#name-form input[name=name]", "Enter")
    bob.page.wait_for_function("() => document.querySelector('#name-input').value === 'Bob'")
    ann.send("Lunch?")
    bob.wait_for_text("Lunch?")
    theirs = message(bob, "Lunch?")
    theirs.locator(".picker summary").click()
    theirs.locator(".picker button").first.click()

    shown = message(ann, "Lunch?").locator(".reaction")
    shown.wait_for()
    assert shown.locator(".count").inner_text() == "1"
    assert shown.get_attribute("title") == "Bob"  # pointing at it names who
    mine = theirs.locator(".reaction")
    mine.wait_for()
    assert mine.locator(".yours").evaluate("e => e.checkVisibility()")  # Bob's page: his own
    assert not shown.locator(".yours").evaluate("e => e.checkVisibility()")  # not Ann's

    mine.focus()  # from the keyboard the name is in the button's accessible name
    assert "Bob" in mine.evaluate("e => e.textContent")
    mine.click()  # again: taken back, on both pages
    ann.page.wait_for_function("() => !document.querySelector('#messages .reaction')")
    bob.page.wait_for_function("() => !document.querySelector('#messages .reaction')")

    ann.page.reload()
    ann.wait_online()
    assert not ann.page.locator("#messages .reaction").count()


def test_search_then_a_result_opens_in_its_history(
    history_server: ChatServer, browser: Any
) -> None:
    context = browser.new_context(viewport=SIZES["desktop"])
    context.set_default_timeout(10_000)
    try:
        chat = ChatPage(context, history_server.url, "busy").open()
        page = chat.page
        page.evaluate("window.notReloaded = true")
        page.fill("#search-input", "message 120")
        page.press("#search-input", "Enter")
        page.wait_for_selector("#results .found a")
        assert page.evaluate("window.notReloaded === true")  # in place, no reload
        page.wait_for_function("document.activeElement.id === 'results-title'")  # read out
        address = urlsplit(page.url)  # the results have an address to share
        assert address.path == "/rooms/busy/search"
        assert parse_qs(address.query) == {"q": ["message 120"]}
        assert page.locator("#results mark").all_inner_texts() == ["message", "120"]

        with page.expect_navigation():
            page.locator("#results .found a").first.click()
        assert page.url.endswith("/rooms/busy?around=120#msg-120")
        page.wait_for_function(IN_VIEW, arg="#msg-120")
        assert page.locator("li[data-n]:target").get_attribute("id") == "msg-120"
        assert not page.locator("[ws-connect]").count()  # a page of history: no socket

        page.evaluate("window.notReloaded = true")
        below = page.locator("#messages li[data-n]").count()
        page.locator("#messages li.newer a").click()  # newer ones load below, in place
        page.wait_for_function(
            "n => document.querySelectorAll('#messages li[data-n]').length > n", arg=below
        )
        assert page.evaluate("window.notReloaded === true")
        shown = page.locator("#older li[data-n], #messages li[data-n]").count()
        page.evaluate("document.querySelector('#older li').scrollIntoView()")  # older ones above
        page.wait_for_function(
            "n => document.querySelectorAll('#older li[data-n], #messages li[data-n]').length > n",
            arg=shown,
        )
        assert not chat.console_errors, chat.console_errors
    finally:
        context.close()


FOCUSED = "() => document.activeElement.closest('li')?.id + ' ' + document.activeElement.tagName"


def tab_until(page: Any, test: str, limit: int = 40) -> None:
    """Tab until `test` (a JS function of the focused element) holds; every stop shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "() => getComputedStyle(document.activeElement).outlineStyle !== 'none'"
        ), f"no visible focus at {page.evaluate(FOCUSED)}"
        if page.evaluate(f"() => ({test})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {test}; at {page.evaluate(FOCUSED)}")


def test_react_and_edit_from_the_keyboard_alone(people: list[ChatPage]) -> None:
    ann, bob = people
    ann.send("Keyboards rule")
    bob.wait_for_text("Keyboards rule")
    item = ann.page.locator("#messages li[data-n]").last.get_attribute("id")
    page = ann.page
    page.focus(".scroller")  # the conversation: the stop just before its messages
    tab_until(page, f"e => e.tagName === 'SUMMARY' && e.closest('li').id === '{item}'")
    page.keyboard.press("Enter")  # opens the picker
    tab_until(page, f"e => e.name === 'emoji' && e.closest('li').id === '{item}'", limit=3)
    page.keyboard.press("Space")
    message(bob, "Keyboards rule").locator(".reaction").wait_for()

    page.focus(".scroller")
    tab_until(
        page, f"e => e.tagName === 'A' && e.closest('.mine') && e.closest('li').id === '{item}'"
    )
    page.keyboard.press("Enter")
    field = page.locator("li.editing input[name=text]")
    field.wait_for()
    assert field.evaluate("e => e === document.activeElement")
    page.keyboard.press("End")
    page.keyboard.type(" (and mice)")
    page.keyboard.press("Enter")
    bob.wait_for_text("Keyboards rule (and mice)")
