"""Accessibility in a real Chromium, against a real server.

1. axe-core (WCAG 2.0/2.1/2.2 A and AA, and best practices) finds nothing on any page in any
   state the chat has, in light and dark, on a desktop and on a phone.
2. At 200 % text size (Chromium's default font size 32px) nothing is lost or needs sideways
   scrolling.
3. With prefers-reduced-motion nothing moves; the connection status still turns "offline"
   (its animation is a zero-length step after a delay: a timer, not motion).

Run: .venv/bin/pytest tests/test_accessibility.py -q   (a summary line is printed at the end)
"""

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import axe
from tests.browsing import ChatPage, fresh_room
from tests.servers import ChatServer

pytestmark = pytest.mark.browser

THEMES = ("light", "dark")
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
COMBOS = [(theme, size) for theme in THEMES for size in SIZES]
FAST = {"CHAT_RATE_PER_SECOND": "1000", "CHAT_RATE_BURST": "1000"}
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
LONG_LINK = "https://example.com/" + "/".join(["a-rather-long-path-segment"] * 6) + "?q=1"
# Any text in #composer-error / the name form's error, whatever element or role carries it.
HAS_ERROR = "sel => [...document.querySelectorAll(sel)].some(e => e.textContent.trim().length > 0)"
COMPOSER_ERROR = "#composer-error"
# The words of the connection state a person sees (#connection holds them; before it, #status).
VISIBLE_STATUS = (
    "() => { const s = document.getElementById('connection') || document.getElementById('status');"
    " if (!s) return ''; return [...s.querySelectorAll('*')].filter(e => e.children.length === 0"
    " && e.textContent.trim() && getComputedStyle(e).visibility === 'visible'"
    " && e.checkVisibility()).map(e => e.textContent.trim()).join(' '); }"
)
NAME_ERROR = "#name-form .error, #name-form [role=alert], #name-error"


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """The chat for this module: the gallery on, room for many pages from one address, and a
    slow heartbeat so that the status is seldom swapped while axe reads the page."""
    chat_server = ChatServer(
        tmp_path_factory.mktemp("a11y"),
        CHAT_GALLERY="true",
        CHAT_MAX_CONNECTIONS_PER_IP="1000",
        CHAT_HEARTBEAT="60",
        **FAST,
    ).start()
    yield chat_server
    chat_server.stop()


@dataclass
class Env:
    """What a scenario builds with: the browser, the module's server, a place for servers of
    its own, and everything it opened (closed when the next scenario starts)."""

    browser: Any
    server: ChatServer
    tmp: pytest.TempPathFactory
    contexts: list[Any] = field(default_factory=list)
    servers: list[ChatServer] = field(default_factory=list)

    def context(self, theme: str = "light", size: str = "desktop", **options: Any) -> Any:
        phone = size == "phone"
        context = self.browser.new_context(
            color_scheme=theme,
            viewport=SIZES[size],
            is_mobile=phone,
            has_touch=phone,
            **options,
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context

    def page(self, theme: str, size: str, **options: Any) -> Any:
        return self.context(theme, size, **options).new_page()

    def own_server(self, **env: str) -> ChatServer:
        started = ChatServer(self.tmp.mktemp("a11y-own"), **FAST, **env).start()
        self.servers.append(started)
        return started

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        for own in self.servers:
            if own.process is not None and own.process.poll() is None:
                own.stop()
        self.contexts.clear()
        self.servers.clear()


Pages = dict[tuple[str, str], Any]
Builder = Callable[[Env], Pages]


# ---------------------------------------------------------------------------------------------
# The states: each builder opens one page per (theme, size) in that state.


def _open(context: Any, base_url: str, room: str = "lobby") -> ChatPage:
    """A room page whose socket is up (the server has pushed #status as "online")."""
    chat = ChatPage(context, base_url, room)
    chat.page.goto(chat.url)
    chat.page.wait_for_selector("#status.online", state="attached")
    return chat


def _wait_status(page: Any, word: str, timeout: float = 30_000) -> None:
    page.wait_for_function(f"w => ({VISIBLE_STATUS})() === w", arg=word, timeout=timeout)


def _rename(page: Any, name: str, status: int) -> None:
    page.fill("#name-form input[name=name]", name)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/name")) as answer:
        page.click("#name-form [type=submit]")
    assert answer.value.status == status, f"renaming to {name!r}: {answer.value.status}"


def lobby_conversation(env: Env) -> Pages:
    """The lobby with a conversation: others' messages (a long word, a long link, several
    lines), one of the viewer's own, and notices of people joining and renaming."""
    url = env.server.url
    pages = {combo: _open(env.context(*combo), url) for combo in COMBOS}
    bob = _open(env.context(), url)  # each page above sees "… joined"
    _rename(bob.page, "Bob", 200)  # "… is now Bob"
    for text in ("Good morning, everyone!", LONG_WORD, f"Notes: {LONG_LINK}", "one\ntwo\n  three"):
        bob.send(text)
    for (theme, size), chat in pages.items():
        chat.send(f"Hello from {theme} {size}")
    total = 4 + len(pages)
    for chat in pages.values():
        chat.wait_for_count(total)
    return {combo: chat.page for combo, chat in pages.items()}


def russian_room(env: Env) -> Pages:
    """A room read in Russian (the browser asks for it), with a message and a notice."""
    room = fresh_room("a11y-ru")
    pages = {
        combo: _open(env.context(*combo, locale="ru-RU"), env.server.url, room) for combo in COMBOS
    }
    _open(env.context(), env.server.url, room).send("Привет! Hello!")
    for chat in pages.values():
        chat.wait_for_count(1)
        lang = chat.page.evaluate("document.documentElement.lang")
        assert lang.startswith("ru"), f"asked for Russian, got <html lang={lang!r}>"
    return {combo: chat.page for combo, chat in pages.items()}


def empty_room(env: Env) -> Pages:
    room = fresh_room("a11y-empty")
    return {combo: _open(env.context(*combo), env.server.url, room).page for combo in COMBOS}


def connecting(env: Env) -> Pages:
    """A page whose socket cannot connect: the status says "connecting…"."""
    room = fresh_room("a11y-connecting")
    pages = {}
    for combo in COMBOS:
        page = env.page(*combo)
        page.route_web_socket(re.compile(r"/ws\b"), lambda ws: ws.close(code=1011))
        page.goto(f"{env.server.url}/rooms/{room}")
        pages[combo] = page
    for chat in pages.values():
        chat.wait_for_selector("#status", state="attached")
        assert "connecting" in _visible_status(chat), _visible_status(chat)
    return pages


def offline(env: Env) -> Pages:
    """Pages that were online when their server went away: "offline" once the heartbeat is
    stale (at least 10 s; the four pages wait together)."""
    own = env.own_server(CHAT_HEARTBEAT="1")
    room = fresh_room("a11y-offline")
    chats = {combo: _open(env.context(*combo), own.url, room) for combo in COMBOS}
    own.stop()
    for chat in chats.values():
        _wait_status(chat.page, "offline")
    return {combo: chat.page for combo, chat in chats.items()}


def refused(env: Env) -> Pages:
    """Pages the server refuses a socket (too many from one address): the refusal is shown
    under the composer and the page keeps retrying."""
    own = env.own_server(CHAT_MAX_CONNECTIONS_PER_IP="1")
    room = fresh_room("a11y-refused")
    _open(env.context(), own.url, room)  # holds the one connection allowed
    pages = {}
    for combo in COMBOS:
        page = env.page(*combo)
        page.goto(f"{own.url}/rooms/{room}")
        pages[combo] = page
    for page in pages.values():
        page.wait_for_function(HAS_ERROR, arg=COMPOSER_ERROR)
    return pages


def composer_error_live(env: Env) -> Pages:
    """A message refused over the socket (a control character): the error under the composer,
    the draft kept."""
    room = fresh_room("a11y-live-error")
    pages = {}
    for combo in COMBOS:
        chat = _open(env.context(*combo), env.server.url, room)
        chat.page.fill("#chat-form input[name=message]", "bell\x07")
        chat.page.press("#chat-form input[name=message]", "Enter")
        pages[combo] = chat.page
    for page in pages.values():
        page.wait_for_function(HAS_ERROR, arg=COMPOSER_ERROR)
    return pages


def _as_seen_without_js(env: Env, combo: tuple[str, str], response: Any) -> Any:
    """A page as a browser without JavaScript shows `response` (what the server answered a
    no-JS page), in a page where axe can run: in a page with JavaScript off, evaluate works
    but timers never fire, so axe.run never finishes. The same bytes, status and headers (its
    CSP too) are served again with the scripts left out and <noscript> unwrapped, which is how
    a browser without JavaScript renders them."""
    html = response.text()
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S | re.I)
    html = re.sub(r"</?noscript>", "", html, flags=re.I)
    page = env.page(*combo)
    url = response.url
    page.route(
        url,
        lambda route: route.fulfill(status=response.status, headers=response.headers, body=html),
        times=1,
    )
    page.goto(url)
    return page


def _no_js_post(form: str, values: dict[str, str], status: int) -> Callable[[Env], Pages]:
    """A page without JavaScript posting `form` natively with `values` (the browser's own
    checks turned off, as an old browser or a hand-made request would): the page it gets."""

    def build(env: Env) -> Pages:
        room = fresh_room("a11y-nojs")
        pages = {}
        for combo in COMBOS:
            page = env.page(*combo, java_script_enabled=False)
            page.goto(f"{env.server.url}/rooms/{room}")
            page.evaluate(
                """([form, values]) => {
                    const f = document.querySelector(form);
                    f.noValidate = true;
                    for (const [name, value] of Object.entries(values)) f.elements[name].value = value;
                }""",
                [form, values],
            )
            with page.expect_navigation() as answer:
                page.click(f"{form} [type=submit]")
            assert answer.value is not None and answer.value.status == status, (
                f"posting {values} to {form}: {answer.value and answer.value.status}"
            )
            pages[combo] = _as_seen_without_js(env, combo, answer.value)
        return pages

    return build


def name_taken(env: Env) -> Pages:
    """A rename refused over htmx (409): someone online already has the name."""
    room = fresh_room("a11y-name")
    holder = _open(env.context(), env.server.url, room)
    _rename(holder.page, "Bob", 200)
    pages = {}
    for combo in COMBOS:
        chat = _open(env.context(*combo), env.server.url, room)
        _rename(chat.page, "Bob", 409)
        chat.page.wait_for_function(HAS_ERROR, arg=NAME_ERROR)
        pages[combo] = chat.page
    return pages


def no_javascript_room(env: Env) -> Pages:
    """A room as a browser without JavaScript shows it (with a message in it)."""
    room = fresh_room("a11y-nojs-room")
    writer = _open(env.context(), env.server.url, room)
    writer.send("Seen without JavaScript")
    pages = {}
    for combo in COMBOS:
        page = env.page(*combo, java_script_enabled=False)
        response = page.goto(f"{env.server.url}/rooms/{room}")
        pages[combo] = _as_seen_without_js(env, combo, response)
    return pages


def _visit(path: str, status: int = 200, server: str = "module") -> Builder:
    def build(env: Env) -> Pages:
        base = env.server.url if server == "module" else env.own_server().url
        pages = {}
        for combo in COMBOS:
            page = env.page(*combo)
            response = page.goto(base + path)
            assert response is not None and response.status == status, (
                f"GET {path}: {response and response.status}, expected {status}"
            )
            page.wait_for_load_state("load")  # iframes included
            pages[combo] = page
        return pages

    return build


def rooms_with_people(env: Env) -> Pages:
    for room in ("a11y-general", "a11y-random"):
        _open(env.context(), env.server.url, room)
    return _visit("/rooms")(env)


def _react(page: Any, message: Any, emoji: int = 0) -> None:
    """Choose a reaction from `message`'s picker and wait until it is counted."""
    count = message.locator(".reaction").count()
    message.locator(".picker summary").click()
    message.locator(".picker button").nth(emoji).click()
    message.locator(".reaction").nth(count).wait_for()


def _conversation_with_actions(env: Env, prefix: str) -> dict[tuple[str, str], ChatPage]:
    """A room where Bob said something (reacted to, then edited) and deleted something, and
    each page's reader said something of their own: own messages show Edit and Delete."""
    room = fresh_room(prefix)
    bob = _open(env.context(), env.server.url, room)
    bob.page.on("dialog", lambda dialog: dialog.accept())
    bob.send("Has anyone seen the search box?")
    bob.send("Wrong room, sorry")
    bob.page.locator("#messages li[data-n]").last.locator(".mine button").click()
    bob.page.wait_for_selector("#messages li.deleted")
    chats = {combo: _open(env.context(*combo), env.server.url, room) for combo in COMBOS}
    for emoji, ((theme, size), chat) in enumerate(chats.items()):
        chat.send(f"Found it, from {theme} {size}")
        _react(chat.page, chat.page.locator("#messages li[data-n]").first, emoji)
    first = bob.page.locator("#messages li[data-n]").first
    first.locator(".mine a").click()
    bob.page.fill("li.editing input[name=text]", "Has anyone seen the search box? It is new.")
    bob.page.press("li.editing input[name=text]", "Enter")
    for chat in chats.values():
        chat.page.wait_for_selector("#messages li[data-n] .edited")
        chat.wait_for_count(2 + len(chats))
    return chats


def message_actions(env: Env) -> Pages:
    """Messages with reactions (one the reader's own), the reader's own messages with Edit and
    Delete, an edited and a deleted message, and a reaction picker open."""
    chats = _conversation_with_actions(env, "a11y-actions")
    for chat in chats.values():
        chat.page.locator("#messages li[data-n]").last.locator(".picker summary").click()
    return {combo: chat.page for combo, chat in chats.items()}


def editing(env: Env) -> Pages:
    """The reader editing their own message in place."""
    chats = _conversation_with_actions(env, "a11y-editing")
    for chat in chats.values():
        chat.page.locator("#messages li[data-n] .mine a:visible").click()  # their own
        chat.page.wait_for_selector("li.editing input[name=text]")
    return {combo: chat.page for combo, chat in chats.items()}


def search_results(env: Env) -> Pages:
    """Search results beside the conversation (one word found in several messages)."""
    chats = _conversation_with_actions(env, "a11y-search")
    for chat in chats.values():
        chat.page.fill("#search-input", "search")
        chat.page.press("#search-input", "Enter")
        chat.page.wait_for_selector("#results .found mark")
    return {combo: chat.page for combo, chat in chats.items()}


def around_page(env: Env) -> Pages:
    """A search result opened: the history around the message, marked, with no socket."""
    chats = _conversation_with_actions(env, "a11y-around")
    pages = {}
    for combo, chat in chats.items():
        chat.page.goto(f"{chat.url}/search?q=search")
        with chat.page.expect_navigation():
            chat.page.locator("#results .found a").first.click()
        chat.page.wait_for_selector("li[data-n]:target")
        pages[combo] = chat.page
    return pages


SCENARIOS: dict[str, Builder] = {
    "lobby-conversation": lobby_conversation,
    "room-russian": russian_room,
    "room-empty": empty_room,
    "status-connecting": connecting,
    "status-offline": offline,
    "socket-refused": refused,
    "composer-error-live": composer_error_live,
    "composer-too-long-nojs": _no_js_post("#chat-form", {"message": "x" * 2001}, 422),
    "composer-empty-nojs": _no_js_post("#chat-form", {"message": "   "}, 422),
    "name-taken": name_taken,
    "name-empty-nojs": _no_js_post("#name-form", {"name": "   "}, 422),
    "bad-session-403": _no_js_post("#chat-form", {"session": "forged", "message": "hi"}, 403),
    "room-nojs": no_javascript_room,
    "rooms-list": rooms_with_people,
    "rooms-list-empty": _visit("/rooms", server="own"),
    "unknown-page-404": _visit("/no/such/page", 404),
    "bad-room-name-404": _visit("/rooms/no%20such%20room!", 404),
    "wrong-method-405": _visit("/rooms/lobby/messages", 405),
    "gallery": _visit("/gallery"),
    "settings": _visit("/settings?next=/"),
    "older-page": _visit("/?before=3"),
    "message-actions": message_actions,
    "message-editing": editing,
    "search-results": search_results,
    "around-page": around_page,
}


def _visible_status(page: Any) -> str:
    shown: str = page.evaluate(VISIBLE_STATUS)
    return shown


@dataclass
class Checked:
    scenario: str
    theme: str
    size: str
    rules: list[str]
    frames: int


class States:
    """Builds each scenario's four pages once, on first use, and closes them (and any server
    of their own) when the next scenario starts: the cases run scenario by scenario."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.current: str | None = None
        self.pages: Pages = {}
        self.checked: list[Checked] = []

    def page(self, scenario: str, theme: str, size: str) -> Any:
        if scenario != self.current:
            self.env.close()
            self.current, self.pages = None, {}
            self.pages = SCENARIOS[scenario](self.env)
            self.current = scenario
        return self.pages[(theme, size)]

    def summary(self) -> str:
        combos = len(self.checked)
        if not combos:
            return "accessibility: nothing checked"
        failing = [c for c in self.checked if c.rules]
        rules = Counter(rule for c in failing for rule in c.rules)
        scenarios = len({c.scenario for c in self.checked})
        line = (
            f"accessibility (axe-core {axe.axe_version()}, {', '.join(axe.TAGS)}): "
            f"{combos} page/state/theme/size combinations checked "
            f"({scenarios} page states x {len({c.theme for c in self.checked})} themes"
            f" x {len({c.size for c in self.checked})} sizes), "
            f"{combos - len(failing)} clean, {len(failing)} with violations"
        )
        frames = sum(c.frames for c in self.checked)
        if frames:
            line += f"; {frames} iframes (gallery specimens) checked inside them"
        if rules:
            line += " — rules: " + ", ".join(f"{r} ({n})" for r, n in rules.most_common())
        return line


@pytest.fixture(scope="module")
def states(
    browser: Any,
    a11y_server: ChatServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[States]:
    built = States(Env(browser, a11y_server, tmp_path_factory))
    request.config.pluginmanager.register(_Summary(built), "accessibility-summary")
    yield built
    built.env.close()
    (tmp_path_factory.getbasetemp() / "accessibility-summary.txt").write_text(
        built.summary() + "\n"
    )


class _Summary:
    """Prints what was checked at the end of the run (output of fixtures is captured)."""

    def __init__(self, built: States) -> None:
        self.built = built

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", "accessibility")
        terminalreporter.write_line(self.built.summary())


CASES = [
    pytest.param(scenario, theme, size, id=f"{scenario}-{theme}-{size}")
    for scenario in SCENARIOS
    for theme, size in COMBOS
]


@pytest.mark.parametrize(("scenario", "theme", "size"), CASES)
def test_axe_finds_no_violations(states: States, scenario: str, theme: str, size: str) -> None:
    page = states.page(scenario, theme, size)
    try:
        results = axe.run(page)
    except Exception:
        results = axe.run(page)
    rules = [v["id"] for v in results["violations"]]
    untested = axe.untested_frames(results)
    frames = len(page.frames) - 1
    states.checked.append(
        Checked(scenario, theme, size, rules + ["frame-tested"] * bool(untested), frames)
    )
    where = (
        f"{scenario} ({theme}, {size} {SIZES[size]['width']}x{SIZES[size]['height']}) {page.url}"
    )
    assert not rules and not untested, axe.describe(results, where)


# ---------------------------------------------------------------------------------------------
# 200 % text size.

# Everything a person needs, whatever the page: (selector, must there be at least one).
NEEDED = [
    ("header a, header button, header select, header input:not([type=hidden])", True),
    ("#chat-form input[name=message]", True),
    ("#chat-form [type=submit]", True),
    ("#name-form input[name=name]", True),
    ("#name-form [type=submit]", True),
    ("#name-form label", False),
    ("#messages li .text", True),
    ("#messages li .author", True),
    ("#members li", True),
    ("h1", True),
]
# Controls whose text must fit inside them (a clipped word in a button or field is lost).
NOT_CLIPPED = "button, input:not([type=hidden]), select, a, label, #messages li .text, h1, h2"

LAYOUT = """(args) => {
  const [needed, notClipped] = args;
  const root = document.documentElement;
  const width = root.clientWidth;
  const problems = [];
  if (getComputedStyle(root).fontSize !== '32px')
    problems.push(`the text size is ${getComputedStyle(root).fontSize}, not 32px`);
  const name = e => e.outerHTML.replace(/\\s+/g, ' ').slice(0, 160);
  if (root.scrollWidth > width + 1)
    problems.push(`the page scrolls sideways: scrollWidth ${root.scrollWidth} > clientWidth ${width}`);
  for (const [sel, required] of needed) {
    const found = [...document.querySelectorAll(sel)];
    if (required && found.length === 0) problems.push(`nothing matches ${sel}`);
    for (const e of found) {
      const box = e.getBoundingClientRect();
      if (!e.checkVisibility({visibilityProperty: true}) || box.width === 0 || box.height === 0)
        problems.push(`${sel} is not visible: ${name(e)}`);
      else if (box.left < -1 || box.right > width + 1)
        problems.push(`${sel} sticks out of the ${width}px viewport ` +
                      `(left ${box.left.toFixed(0)}, right ${box.right.toFixed(0)}): ${name(e)}`);
    }
  }
  for (const e of document.querySelectorAll(notClipped)) {
    if (!e.checkVisibility()) continue;
    const style = getComputedStyle(e);
    if (style.display === 'inline') continue;  // inline boxes have no scroll box of their own
    if (e.scrollWidth > e.clientWidth + 1)
      problems.push(`text is clipped (scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}): ${name(e)}`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def busy_room(a11y_server: ChatServer, browser: Any) -> Iterator[str]:
    """A room with someone in it who said long things."""
    room = fresh_room("a11y-text")
    context = browser.new_context()
    writer = _open(context, a11y_server.url, room)
    writer.send("A short one.")
    writer.send(LONG_WORD)
    writer.send(f"Notes: {LONG_LINK}")
    yield room
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_text_at_200_percent_loses_nothing(
    a11y_server: ChatServer, browser: Any, busy_room: str, size: str
) -> None:
    phone = size == "phone"
    context = browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    context.set_default_timeout(15_000)
    try:
        chat = ChatPage(context, a11y_server.url, busy_room)
        page = chat.page
        page.goto(a11y_server.url + "/rooms")  # the same document layout, before: 16px
        before = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)"
        )
        cdp = context.new_cdp_session(page)
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
        page.reload()
        root = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        after = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
        assert root == "32px" and after == pytest.approx(2 * before), (
            f"the browser's text size did not double rem sizes: root {root}, h1 {before} -> {after}"
        )
        problems: dict[str, list[str]] = {}
        for url, needed in (
            (chat.url, NEEDED),
            (
                a11y_server.url + "/rooms",
                [NEEDED[0], ("h1", True), ("main input:not([type=hidden]), main button", True)],
            ),
            (a11y_server.url + "/no/such/page", [NEEDED[0], ("h1", True)]),
        ):
            page.goto(url)
            if url == chat.url:
                chat.page.wait_for_selector("#status.online", state="attached")
                chat.wait_for_count(3)
            found: list[str] = page.evaluate(LAYOUT, [needed, NOT_CLIPPED])
            if found:
                problems[url] = found
        report = "\n".join(
            f"  {url}:\n" + "\n".join(f"    - {p}" for p in found)
            for url, found in problems.items()
        )
        assert not problems, f"at 200 % text size ({size} {SIZES[size]}) content is lost:\n{report}"
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# prefers-reduced-motion.

MOTION = """() => {
  const moving = [];
  const seconds = v => v.split(',').map(s => s.trim().endsWith('ms') ? parseFloat(s) / 1000 : parseFloat(s));
  const name = e => e.outerHTML.replace(/\\s+/g, ' ').slice(0, 120);
  for (const e of [document.documentElement, ...document.querySelectorAll('*')]) {
    for (const pseudo of [null, '::before', '::after', '::marker']) {
      const s = getComputedStyle(e, pseudo);
      const where = name(e) + (pseudo || '');
      if (seconds(s.transitionDuration).some(d => d > 0) && s.transitionProperty !== 'none')
        moving.push(`transition ${s.transitionProperty} ${s.transitionDuration}: ${where}`);
      if (s.animationName !== 'none' && seconds(s.animationDuration).some(d => d > 0))
        moving.push(`animation ${s.animationName} ${s.animationDuration}: ${where}`);
    }
  }
  const scroll = getComputedStyle(document.documentElement).scrollBehavior;
  if (scroll === 'smooth') moving.push('html { scroll-behavior: smooth }');
  return moving;
}"""


def test_reduced_motion_stops_movement_but_not_the_status_timer(
    a11y_server: ChatServer, browser: Any, busy_room: str, tmp_path: Path
) -> None:
    context = browser.new_context(reduced_motion="reduce", viewport=SIZES["desktop"])
    context.set_default_timeout(15_000)
    own = ChatServer(tmp_path, CHAT_HEARTBEAT="1", **FAST).start()
    try:
        moving: dict[str, list[str]] = {}
        chat = _open(context, a11y_server.url, busy_room)
        chat.wait_for_count(3)
        for url in (chat.url, a11y_server.url + "/rooms", a11y_server.url + "/gallery"):
            if url != chat.url:
                chat.page.goto(url)
                axe.load_frames(chat.page)
            for frame in chat.page.frames:  # the gallery's specimens too, if framed
                found: list[str] = frame.evaluate(MOTION)
                if found:
                    moving[frame.url] = found
        report = "\n".join(
            f"  {url}:\n" + "\n".join(f"    - {m}" for m in found) for url, found in moving.items()
        )
        assert not moving, f"with prefers-reduced-motion: reduce, things still move:\n{report}"

        # The status's animation is a timer (a zero-length step after --offline-after), not
        # motion: with reduced motion a dead connection must still read "offline".
        status = _open(context, own.url, fresh_room("a11y-motion"))
        own.stop()
        _wait_status(status.page, "offline")
    finally:
        context.close()
        if own.process is not None and own.process.poll() is None:
            own.stop()
