"""The README's nginx configuration, run as written: TLS on a port of its own in front of
`chat serve`, real Chromium pages, and client addresses that survive the proxy."""

import http.client
import json
import re
import socket
import ssl
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browsing import ChatPage, fresh_room
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.connect_proxy import ConnectProxy
from tests.html import messages, one, parse
from tests.nginx import Nginx, self_signed_certificate
from tests.servers import ChatServer, free_port, wait_until

README = Path(__file__).resolve().parent.parent / "README.md"
HOST = "chat.test"
TRY_AGAIN_LATER = 1013
# Test code run in the page: open the page's own socket URL once and report its close code.
CLOSE_CODE = """async () => {
    const path = document.querySelector('[ws-connect]').getAttribute('ws-connect');
    const url = new URL(path, location.href);
    url.protocol = 'wss:';
    return await new Promise(done => { new WebSocket(url).onclose = event => done(event.code); });
}"""


def readme_nginx() -> str:
    """The nginx configuration between the README's markers, exactly as an operator copies it."""
    text = README.read_text()
    block = text.split("<!-- nginx:start -->", 1)[-1].split("<!-- nginx:end -->", 1)[0]
    fenced = re.fullmatch(r"\s*```nginx\n(.*)```\s*", block, re.DOTALL)
    assert fenced, "README.md needs one ```nginx block between <!-- nginx:start/end --> markers"
    return fenced.group(1)


def substitute(config: str, replacements: dict[str, str]) -> str:
    """Replace the README's placeholders, failing loudly if one of them has gone."""
    for placeholder, value in replacements.items():
        assert placeholder in config, f"the README's nginx block lost {placeholder!r}"
        config = config.replace(placeholder, value)
    return config


@dataclass
class Site:
    """`chat serve` behind nginx, reached as https://chat.test:PORT."""

    server: ChatServer
    nginx: Nginx
    port: int
    http_port: int
    certificate: Path

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def access_log(self) -> str:
        path = self.nginx.dir / "chat.access.log"
        return path.read_text() if path.exists() else ""

    def open_sockets(self, room: str) -> int:
        with urllib.request.urlopen(self.server.url + "/ws-info") as response:
            counts: dict[str, int] = json.load(response)["rooms"]
        return counts.get(room, 0)


@contextmanager
def deployed(
    workdir: Path, certificate: tuple[Path, Path], nginx_http: str = "", **env: str
) -> Iterator[Site]:
    """The README's configuration with its placeholders filled in, `nginx_http` added to `http {}`."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = ChatServer(workdir, None, **env)
    try:
        server.start()
        port, http_port = free_port(), free_port()
        config = substitute(
            readme_nginx(),
            {
                "chat.example.com": HOST,
                "/etc/ssl/chat/fullchain.pem": str(certificate[0]),
                "/etc/ssl/chat/privkey.pem": str(certificate[1]),
                "127.0.0.1:8000": f"127.0.0.1:{server.port}",
                "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
                "listen 80;": f"listen 127.0.0.1:{http_port};",
                "/var/log/nginx/chat.access.log": str(workdir / "chat.access.log"),
            },
        )
        try:
            nginx = Nginx(workdir, nginx_http + "\n" + config, ("127.0.0.1", port)).start()
        except FileNotFoundError as error:
            pytest.skip(str(error))
        try:
            yield Site(server, nginx, port, http_port, certificate[0])
        finally:
            nginx.stop()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """conftest's Chromium with its pages sharing a few renderers: sixty start twice as fast."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    args = [*CHROMIUM_ARGS, "--renderer-process-limit=4"]
    with playwright_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=chromium_path(), args=args)
        except playwright_api.Error as error:
            pytest.skip(f"no Chromium to drive (install Debian's chromium): {error}")
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), HOST)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Site]:
    """One deployment with the server's default settings, shared by this module's tests."""
    with deployed(tmp_path_factory.mktemp("site"), certificate) as running:
        yield running


def client_at(stack: ExitStack, browser: Any, address: str, **options: Any) -> Any:
    """A browser context that reaches chat.test from `address`, as if from a network of its own
    (closed with `stack`)."""
    proxy = stack.enter_context(ConnectProxy(address, {HOST: "127.0.0.1"}))
    context = browser.new_context(proxy={"server": proxy.url}, ignore_https_errors=True, **options)
    stack.callback(context.close)
    context.set_default_timeout(10_000)
    return context


def wait_for_refusal(page: ChatPage) -> str:
    """The error the server pushed under the composer before closing the page's socket."""
    page.page.wait_for_function(
        "() => document.querySelector('#composer-error').textContent.trim()"
    )
    return one(page.page.content(), "#composer-error").get_text().strip()


def is_online(page: ChatPage) -> bool:
    return bool(parse(page.page.content()).select("#status.online"))


def post_without_javascript(context: Any, url: str, text: str) -> tuple[int, str, str]:
    """Submit the composer of `url` with JavaScript off: the final status, address and page."""
    page = context.new_page()
    page.goto(url)
    page.fill("#chat-form input[name=message]", text)
    with page.expect_navigation() as navigation:
        page.click("#chat-form [type=submit]")
    return navigation.value.status, page.url, page.content()


def assert_chat_works(browser: Any, site: Site) -> None:
    """Two pages talk over their sockets; a page without JavaScript posts and is seen live."""
    room = fresh_room("deploy")
    with ExitStack() as stack:
        alice, bob = (
            ChatPage(client_at(stack, browser, "127.0.0.1"), site.url, room).open()
            for _ in range(2)
        )
        alice.send("hello through nginx")
        bob.wait_for_text("hello through nginx")
        no_js = client_at(stack, browser, "127.0.0.1", java_script_enabled=False)
        url = f"{site.url}/rooms/{room}"
        status, landed, html = post_without_javascript(no_js, url, "no script")
        assert (status, landed) == (200, url)
        assert [text.strip() for _, text in messages(html)] == ["hello through nginx", "no script"]
        alice.wait_for_text("no script")
        mine = alice.page.locator("#messages li", has_text="hello through nginx")
        mine.locator(".mine a").click()  # edit in place, the post Origin-checked over TLS
        alice.page.fill("li.editing input[name=text]", "edited through nginx")
        alice.page.press("li.editing input[name=text]", "Enter")
        bob.wait_for_text("edited through nginx")
        theirs = bob.page.locator("#messages li", has_text="edited through nginx")
        theirs.locator(".picker summary").click()
        theirs.locator(".picker button").first.click()
        alice.page.wait_for_selector("#messages .reaction")
        found = no_js.new_page()
        found.goto(f"{url}/search?q=nginx")
        assert "edited through nginx" in found.locator("#results").inner_text()
        assert alice.console_errors == bob.console_errors == []


@pytest.mark.browser
def test_pages_behind_nginx_on_a_port_of_its_own_talk_and_post(site: Site, browser: Any) -> None:
    assert_chat_works(browser, site)


@pytest.mark.browser
def test_the_access_log_has_socket_paths_but_never_session_ids(site: Site, browser: Any) -> None:
    room = fresh_room("log")
    with ExitStack() as stack:
        page = ChatPage(client_at(stack, browser, "127.0.0.1"), site.url, room).open()
        socket_url = str(one(page.page.content(), "[ws-connect]")["ws-connect"])
    # Closed: nginx logs a WebSocket request when it ends.
    session = parse_qs(urlsplit(socket_url).query)["session"][0]
    path = f"/rooms/{room}/ws"
    wait_until(lambda: path in site.access_log(), what=f"{path} in nginx's access log")
    logged = [line for line in site.access_log().splitlines() if f'"GET {path} ' in line]
    assert len(logged) == 1 and '" 101 ' in logged[0], logged
    assert session not in site.access_log()
    assert "session=" not in site.access_log()


def _get(site: Site, *, tls: bool, path: str = "/", headers: str = "") -> http.client.HTTPResponse:
    """One request to nginx as `chat.test`, the certificate checked against that name."""
    port = site.port if tls else site.http_port
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        context = ssl.create_default_context(cafile=site.certificate)
        sock = context.wrap_socket(sock, server_hostname=HOST)
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{headers}Connection: close\r\n\r\n"
    sock.sendall(request.encode())
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    sock.close()
    return response


def test_nginx_sends_plain_http_to_https_and_takes_header_lines_up_to_16k(site: Site) -> None:
    moved = _get(site, tls=False, path="/rooms/somewhere")
    assert (moved.status, moved.getheader("location")) == (301, f"https://{HOST}/rooms/somewhere")
    # nginx's default (4 8k) would refuse a 12 KB line; the README's 16k lets the app see it.
    assert _get(site, tls=True, headers=f"X-Long: {'a' * 12_000}\r\n").status == 200
    assert _get(site, tls=True, headers=f"X-Long: {'a' * 20_000}\r\n").status == 400


@pytest.mark.browser
def test_sixty_pages_from_three_client_addresses_all_go_online(site: Site, browser: Any) -> None:
    """50 sockets per address (the default) is per visitor, not per proxy."""
    room = fresh_room("crowd")
    with ExitStack() as stack:
        pages = []
        for address in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
            context = client_at(stack, browser, address)
            context.set_default_timeout(30_000)  # sixty pages start at once on a small machine
            pages += [ChatPage(context, site.url, room) for _ in range(20)]
        for page in pages:
            page.page.goto(page.url, wait_until="commit")  # the pages load side by side
        for page in pages:
            page.wait_online()
        assert site.open_sockets(room) == 60


@pytest.mark.browser
def test_the_per_address_limit_still_counts_each_visitor(
    tmp_path: Path, certificate: tuple[Path, Path], browser: Any
) -> None:
    room = fresh_room("limit")
    with (
        deployed(tmp_path, certificate, CHAT_MAX_CONNECTIONS_PER_IP="3") as limited,
        ExitStack() as stack,
    ):
        crowd = client_at(stack, browser, "127.0.0.21")
        for _ in range(3):
            ChatPage(crowd, limited.url, room).open()
        refused = ChatPage(crowd, limited.url, room)
        refused.page.goto(refused.url)
        assert "too many" in wait_for_refusal(refused).lower()
        assert refused.page.evaluate(CLOSE_CODE) == TRY_AGAIN_LATER
        ChatPage(client_at(stack, browser, "127.0.0.22"), limited.url, room).open()
        assert not is_online(refused)
        assert limited.open_sockets(room) == 4


@pytest.mark.browser
def test_a_proxy_on_another_host_is_trusted_only_when_named(
    tmp_path: Path, certificate: tuple[Path, Path], browser: Any
) -> None:
    """nginx connects from 127.0.0.2, a stand-in for a load balancer on another machine."""
    elsewhere = "proxy_bind 127.0.0.2;"
    with deployed(tmp_path / "untrusted", certificate, elsewhere) as untrusted:
        with ExitStack() as stack:
            page = ChatPage(client_at(stack, browser, "127.0.0.1"), untrusted.url, fresh_room())
            page.page.goto(page.url)
            wait_for_refusal(page)
            assert not is_online(page)
            no_js = client_at(stack, browser, "127.0.0.1", java_script_enabled=False)
            status, _, _ = post_without_javascript(no_js, page.url, "refused")
            assert status == 403
        theirs = f"https://{HOST}:{untrusted.port}"
        # Untrusted, X-Forwarded-Proto is ignored: the app knows itself as http://chat.test.
        ours = re.compile(rf"expected\W+http://{re.escape(HOST)}(?![\w:.])")
        refusals = [
            line
            for line in untrusted.server.log().splitlines()
            if ours.search(line) and theirs in line
        ]
        assert len(refusals) >= 2, untrusted.server.log()  # the socket and the post
        assert "127.0.0.2:" in untrusted.server.log()  # uvicorn saw nginx's address
    with deployed(
        tmp_path / "trusted", certificate, elsewhere, CHAT_FORWARDED_ALLOW_IPS="127.0.0.2"
    ) as trusted:
        assert_chat_works(browser, trusted)
