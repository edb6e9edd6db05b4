"""The Origin check behind proxies, and what an operator and a person learn from a refusal."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from chat.security import same_origin
from tests.html import one
from tests.test_ws import connect, open_room, receive_until, send


@pytest.mark.parametrize(
    ("origin", "own", "ours"),
    [
        ("https://chat.example", "https://chat.example", True),
        ("https://chat.example:8443", "https://chat.example:8443", True),
        # nginx's `Host $host` drops the public port: the host name is still ours.
        ("https://chat.example:8443", "https://chat.example", True),
        ("https://[::1]:8443", "https://[::1]", True),
        # The server knows its port: another port is another origin.
        ("https://chat.example:8443", "https://chat.example:9443", False),
        ("https://chat.example", "https://chat.example:8443", False),
        # Scheme and host name always count.
        ("http://chat.example:8443", "https://chat.example", False),
        ("https://evil.example:8443", "https://chat.example", False),
        ("https://chat.example.evil:8443", "https://chat.example", False),
        ("null", "https://chat.example", False),
    ],
)
def test_same_origin(origin: str, own: str, ours: bool) -> None:
    assert same_origin(origin, own) is ours


def test_a_host_header_without_port_accepts_the_pages_port(client: TestClient) -> None:
    session = open_room(client)
    page_origin = "http://testserver:8443"  # TestClient's Host header is "testserver"
    with connect(client, session, origin=page_origin) as ws:
        send(ws, "through the proxy")
        receive_until(ws, "li[data-n]")
    posted = client.post(
        "/rooms/lobby/messages",
        data={"session": open_room(client), "message": "no-JS through the proxy"},
        headers={"origin": page_origin},
        follow_redirects=False,
    )
    assert posted.status_code == 303


def test_a_refused_origin_is_explained_to_the_person_and_the_operator(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chat.security"):
        page = client.post(
            "/rooms/lobby/messages",
            data={"session": open_room(client), "message": "hi"},
            headers={"origin": "https://chat.example:8443", "accept": "text/html"},
        )
    assert page.status_code == 403
    said = one(page.text, "#error").get_text()
    assert "https://chat.example:8443" in said and "Deploying" in said
    [record] = [r for r in caplog.records if r.name == "chat.security"]
    logged = record.getMessage()
    assert "origin https://chat.example:8443" in logged
    assert "expected http://testserver" in logged and "CHAT_FORWARDED_ALLOW_IPS" in logged


def test_json_nested_thousands_deep_is_invalid_json_and_the_socket_lives_on(
    client: TestClient,
) -> None:
    session = open_room(client)
    deep = "[" * 5000 + "]" * 5000
    with connect(client, session) as ws:
        ws.send_text(json.dumps({"message": "x", "HEADERS": {}})[:-1] + ', "n": ' + deep + "}")
        receive_until(ws, "#composer-error:-soup-contains('not JSON')")
        ws.send_text(deep)
        receive_until(ws, "#composer-error:-soup-contains('not JSON')")
        send(ws, "still here")
        receive_until(ws, "li[data-n]:-soup-contains('still here')")


def test_json_clients_get_the_invalid_json_code_for_deep_nesting(client: TestClient) -> None:
    with client.websocket_connect("/rooms/lobby/ws", subprotocols=["chat.v1.json"]) as ws:
        while ws.receive_json()["type"] != "members":
            pass
        ws.send_text('{"type": "message", "message": ' + "[" * 5000 + "]" * 5000 + "}")
        reply = ws.receive_json()
        while reply["type"] not in ("error", "sent"):
            reply = ws.receive_json()
        assert reply["code"] == "invalid_json"
