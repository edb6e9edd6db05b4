"""HTTP surface of the app: the page contract, health, headers."""

from fastapi.testclient import TestClient

from tests.html import one, parse


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
    assert response.status_code == 200 and response.json() == {"status": "ok"}


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
