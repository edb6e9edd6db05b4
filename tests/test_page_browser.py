"""The core flow in a real Chromium: send over the WebSocket, numbered, no reload, safe, strict CSP."""

import urllib.request
from typing import Any

import pytest

from tests.browsing import ChatPage, fresh_room
from tests.servers import ChatServer

pytestmark = pytest.mark.browser


def test_enter_and_click_send_numbered_messages_without_a_reload(
    server: ChatServer, context: Any
) -> None:
    chat = ChatPage(context, server.url, fresh_room()).open()
    chat.page.evaluate("window.stillTheSamePage = true")
    chat.send("first")
    chat.send("second", click=True)
    chat.send("third")
    assert chat.numbers() == [1, 2, 3]
    assert chat.texts() == ["first", "second", "third"]
    assert [t.split()[0] for t in chat.page.locator("#messages li[data-n]").all_inner_texts()] == [
        "#1",
        "#2",
        "#3",
    ]
    assert chat.page.evaluate("window.stillTheSamePage") is True
    assert chat.page.input_value("#chat-form input[name=message]") == ""
    assert chat.page.evaluate("document.activeElement.name") == "message"


def test_reload_starts_a_new_session_numbered_from_one(server: ChatServer, context: Any) -> None:
    chat = ChatPage(context, server.url, fresh_room()).open()
    chat.send("before reload")
    chat.send("again")
    chat.page.reload()
    chat.wait_online()
    chat.send("after reload")
    assert chat.numbers() == [1, 2, 1]


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_message_adds_nothing(server: ChatServer, context: Any, blank: str) -> None:
    chat = ChatPage(context, server.url, fresh_room()).open()
    chat.page.fill("#chat-form input[name=message]", blank)
    chat.page.press("#chat-form input[name=message]", "Enter")
    assert (
        chat.page.evaluate(
            "document.querySelector('#chat-form input[name=message]').validity.valid"
        )
        is False
    )
    chat.send("a real one")
    assert chat.numbers() == [1]


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(
    server: ChatServer, context: Any
) -> None:
    chat = ChatPage(context, server.url, fresh_room()).open()
    payload = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    chat.send(payload)
    assert chat.texts() == [payload]
    assert chat.page.locator("#messages img, #messages script").count() == 0
    assert chat.page.evaluate("window.pwned") is None


def test_strict_csp_is_sent_and_nothing_violates_it(server: ChatServer, context: Any) -> None:
    with urllib.request.urlopen(server.url + "/") as response:
        csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    chat = ChatPage(context, server.url, fresh_room()).open()
    chat.send("checking the policy")
    assert chat.console_errors == []


def test_everything_is_served_by_our_own_server(server: ChatServer, context: Any) -> None:
    chat = ChatPage(context, server.url, fresh_room()).open()
    assert chat.requests, "the page made no requests"
    assert all(url.startswith(server.url) for url in chat.requests), chat.requests
