"""HTTP surface of the app: the page contract, health, headers."""

import json
import urllib.request

from fastapi.testclient import TestClient

from tests.html import one, parse
from tests.servers import ChatServer


def test_the_page_has_the_documented_contract(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    form = one(page.text, "form#chat-form")
    assert form.has_attr("ws-send")
    assert form.find_parent(attrs={"ws-connect": True}) is not None
    assert one(page.text, "form#chat-form input[name=message]").has_attr("required")
    one(page.text, "form#chat-form [type=submit]")
    one(page.text, "ol#messages")
    scripts = [s["src"] for s in parse(page.text).select("script")]
    assert scripts == [
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/vendor/htmx-ext-ws-2.0.4.min.js",
    ]


def test_health_answers_json_when_ready(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    # Not under `chat serve`: no direct write path, no header limit of ours.
    assert response.json() == {"status": "ok", "direct_writes": False, "max_header_size": None}


def test_health_says_chat_serve_writes_directly(server: ChatServer) -> None:
    with urllib.request.urlopen(server.url + "/health") as response:
        health = json.load(response)
    assert health == {"status": "ok", "direct_writes": True, "max_header_size": 16384}


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_vendored_scripts_are_served(client: TestClient) -> None:
    for path in ["/static/vendor/htmx-2.0.11.min.js", "/static/vendor/htmx-ext-ws-2.0.4.min.js"]:
        response = client.get(path)
        assert response.status_code == 200 and "javascript" in response.headers["content-type"]
