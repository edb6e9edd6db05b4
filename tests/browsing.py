"""A chat page as a person uses it, driven through Playwright."""

import itertools
from typing import Any

_rooms = itertools.count(1)


def fresh_room(prefix: str = "t") -> str:
    """A room no other test uses, so tests can share one server."""
    return f"{prefix}-{next(_rooms)}"


STATUS = (
    "() => [...document.querySelectorAll('#connection .label')]"
    ".filter(e => getComputedStyle(e).visibility === 'visible')"
    ".map(e => e.textContent.trim()).join(' ')"
)


class ChatPage:
    def __init__(self, context: Any, base_url: str, room: str = "lobby") -> None:
        self.page = context.new_page()
        self.base_url = base_url
        self.room = room
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._console)
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: Any) -> None:
        if message.type in {"error", "warning"}:
            self.console_errors.append(message.text)

    @property
    def url(self) -> str:
        return self.base_url + ("/" if self.room == "lobby" else f"/rooms/{self.room}")

    def open(self) -> "ChatPage":
        self.page.goto(self.url)
        self.wait_online()
        return self

    def wait_online(self) -> None:
        self.page.wait_for_selector("#status.online", state="attached")

    def send(self, text: str, *, click: bool = False) -> None:
        count = self.count(mine=True)
        self.page.fill("#chat-form input[name=message]", text)
        if click:
            self.page.click("#chat-form [type=submit]")
        else:
            self.page.press("#chat-form input[name=message]", "Enter")
        self.wait_for_count(count + 1, mine=True)

    def count(self, mine: bool = False) -> int:
        return int(self.page.locator(self._selector(mine)).count())

    def _selector(self, mine: bool) -> str:
        if mine:
            key = self.page.evaluate(
                "document.querySelector('style[nonce]').textContent.match(/data-author=\"(\\w+)\"/)[1]"
            )
            return f"#messages li[data-n][data-author='{key}']"
        return "#messages li[data-n]"

    def wait_for_count(self, count: int, mine: bool = False) -> None:
        selector = self._selector(mine)
        self.page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[selector, count]
        )

    def numbers(self) -> list[int]:
        return [
            int(n)
            for n in self.page.locator("#messages li[data-n]").evaluate_all(
                "items => items.map(li => li.dataset.n)"
            )
        ]

    def texts(self) -> list[str]:
        return [
            t.strip() for t in self.page.locator("#messages li[data-n] .text").all_inner_texts()
        ]

    def marked_mine(self) -> list[bool]:
        """Which messages the page's own stylesheet marks as this person's."""
        return [
            bool(x)
            for x in self.page.locator("#messages li[data-n] .you").evaluate_all(
                "items => items.map(e => e.checkVisibility())"
            )
        ]

    def status(self) -> str:
        """The connection state a person reads: the one visible label of #connection."""
        shown: str = self.page.evaluate(STATUS)
        return shown

    def wait_for_status(self, state: str, timeout: float = 20_000) -> None:
        self.page.wait_for_function(f"s => ({STATUS})() === s", arg=state, timeout=timeout)

    def members(self) -> list[str]:
        return [t.strip() for t in self.page.locator("#members li").all_inner_texts()]

    def wait_for_text(self, text: str) -> None:
        self.page.wait_for_function(
            "t => [...document.querySelectorAll('#messages li .text')].some(e => e.textContent === t)",
            arg=text,
        )
