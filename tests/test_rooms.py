"""Rooms, names, history and the no-JS fallback through the real app."""

from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

from tests.html import messages, one, parse
from tests.test_ws import connect, open_room, receive_until, send


@pytest.mark.parametrize(
    "path",
    [
        "/rooms/" + "x" * 33,
        "/rooms/has%20space",
        "/rooms/%2e%2e",
        "/rooms/a%2Fb",
        "/rooms/..%2F..%2Fetc",
        "/rooms/a%E2%80%8Bb",  # a zero-width space
        "/rooms/%F0%9F%98%80",  # an emoji is not a letter
        "/rooms/a.b",
        "/rooms/a/b",
    ],
)
def test_invalid_room_names_get_a_4xx_page_that_explains(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"accept": "text/html"})
    assert 400 <= response.status_code < 500
    assert "letters (of any alphabet), digits" in one(response.text, "#error").get_text()


def test_valid_rooms_are_created_on_first_use(client: TestClient) -> None:
    for room in ["a", "team-42", "under_score", "x" * 32, "общий", "café", "東京", "ж" * 32]:
        page = client.get(f"/rooms/{room}")
        assert page.status_code == 200
        assert one(page.text, "h1").get_text() == f"#{room}"


@pytest.mark.parametrize(
    ("asked", "room"),
    [
        ("Team-42", "team-42"),
        ("Общий", "общий"),
        ("ОБЩИЙ", "общий"),
        ("cafe\u0301", "café"),  # e + combining acute: the same room as the composed é
        ("CAFÉ", "café"),
    ],
)
def test_room_names_in_any_script_have_one_address(
    client: TestClient, asked: str, room: str
) -> None:
    """Case and Unicode normalisation never make two rooms of one name: other spellings
    redirect to the one address, which works when copied from the address bar (encoded)."""
    response = client.get(f"/rooms/{quote(asked)}?x=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == f"/rooms/{quote(room)}?x=1"
    page = client.get(response.headers["location"])
    assert one(page.text, "h1").get_text() == f"#{room}"
    form = one(page.text, "#chat-form")
    assert unquote(form["action"]).split("?")[0] == f"/rooms/{room}/messages"


def test_each_room_has_its_own_numbering_and_history(client: TestClient) -> None:
    with (
        connect(client, open_room(client, "red"), "red") as red,
        connect(client, open_room(client, "blue"), "blue") as blue,
    ):
        send(red, "in red")
        receive_until(red, "li[data-n]")
        send(blue, "in blue")
        receive_until(blue, "li[data-n]")
    assert messages(client.get("/rooms/red").text) == [(1, "in red")]
    assert messages(client.get("/rooms/blue").text) == [(1, "in blue")]
    data = client.get("/rooms/red/messages.json").json()
    assert data["room"] == "red"
    assert [(m["n"], m["text"], m["room"]) for m in data["messages"]] == [(1, "in red", "red")]
    assert set(data["messages"][0]) == {
        "type",
        "id",
        "room",
        "author",
        "author_key",
        "n",
        "text",
        "time",
        "owner",
        "edited",
        "deleted",
        "reactions",
    }


def test_active_rooms_and_connection_counts(client: TestClient) -> None:
    with connect(client, open_room(client, "busy"), "busy") as ws:
        receive_until(ws, "#members")
        rooms = parse(client.get("/rooms").text)
        assert [a.get_text() for a in rooms.select("#rooms a")] == ["#busy"]
        assert client.get("/ws-info").json() == {"rooms": {"busy": 1}, "total": 1}
    assert client.get("/ws-info").json() == {"rooms": {}, "total": 0}
    assert client.get("/rooms?room=elsewhere", follow_redirects=False).headers["location"] == (
        "/rooms/elsewhere"
    )


def test_the_no_js_post_numbers_in_the_session_and_redirects(client: TestClient) -> None:
    session = open_room(client)
    for n in (1, 2, 3):
        response = client.post(
            "/rooms/lobby/messages",
            data={"session": session, "message": f"p{n}"},
            headers={"origin": "http://testserver"},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/"
        page = client.get("/")  # follows with the resume cookie, keeping the session
        assert str(one(page.text, "#chat-form input[name=session]")["value"]) == session
    assert messages(client.get("/").text)[-3:] == [(1, "p1"), (2, "p2"), (3, "p3")]


def test_the_no_js_post_is_refused_cross_site_and_without_a_session(client: TestClient) -> None:
    session = open_room(client)
    evil = client.post(
        "/rooms/lobby/messages",
        data={"session": session, "message": "x"},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert evil.status_code == 403
    forged = client.post(
        "/rooms/lobby/messages", data={"session": "guess", "message": "x"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert client.get("/rooms/lobby/messages.json").json()["messages"] == []


def test_a_blank_no_js_post_shows_the_error_and_keeps_the_session(client: TestClient) -> None:
    session = open_room(client)
    response = client.post("/rooms/lobby/messages", data={"session": session, "message": "  "})
    assert response.status_code == 422
    assert "empty" in one(response.text, "#composer-error").get_text()
    assert str(one(response.text, "#chat-form input[name=session]")["value"]) == session


def test_renaming_checks_names_among_people_online(client: TestClient) -> None:
    first = open_room(client)
    client.cookies.clear()  # the second person is another browser
    second = open_room(client)
    hx = {"hx-request": "true"}
    with connect(client, first) as ws_first, connect(client, second):
        receive_until(ws_first, "#members")
        ok = client.post(
            "/rooms/lobby/name", data={"session": first, "name": "  Zoë  "}, headers=hx
        )
        assert ok.status_code == 200 and one(ok.text, "#name-input")["value"] == "Zoë"
        assert ok.cookies.get("chat_name") is not None
        taken = client.post(
            "/rooms/lobby/name", data={"session": second, "name": "zoë"}, headers=hx
        )
        assert taken.status_code == 409
        assert "already called" in one(taken.text, "#name-error").get_text()
        for bad in ["", "   ", "x" * 33, "a\x00b", "\u200b"]:
            refused = client.post(
                "/rooms/lobby/name", data={"session": second, "name": bad}, headers=hx
            )
            assert refused.status_code == 422, bad
            assert one(refused.text, "#name-error").get_text()


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/rooms/{room}/messages.json", "/health", "/ws-info", "/rooms/{room}/messages"} <= set(
        paths
    )
    assert client.get("/docs").status_code == 200


def test_a_name_in_any_script_is_kept_for_the_next_page(client: TestClient) -> None:
    session = open_room(client)
    renamed = client.post(
        "/rooms/lobby/name",
        data={"session": session, "name": "Клава 🌷"},
        headers={"hx-request": "true"},
    )
    assert renamed.status_code == 200
    page = client.get("/")
    assert one(page.text, "#name-input")["value"] == "Клава 🌷"


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [
        ("Йошка", "\u0418\u0306ошка"),  # И + combining breve is Й  # noqa: RUF001
        ("Йошка", "Йошка\u200b"),  # a zero-width space
        ("Йошка", "\u202eакшоЙ"),  # a right-to-left override  # noqa: RUF001
    ],
)
def test_names_that_only_look_alike_are_refused(
    client: TestClient, taken: str, lookalike: str
) -> None:
    first = open_room(client)
    client.cookies.clear()
    second = open_room(client)
    hx = {"hx-request": "true"}
    with connect(client, first) as ws_first, connect(client, second):
        receive_until(ws_first, "#members")
        client.post("/rooms/lobby/name", data={"session": first, "name": taken}, headers=hx)
        refused = client.post(
            "/rooms/lobby/name", data={"session": second, "name": lookalike}, headers=hx
        )
        assert refused.status_code in (409, 422)


def test_a_message_of_invisible_characters_is_empty(client: TestClient) -> None:
    session = open_room(client)
    with connect(client, session) as ws:
        send(ws, "\u200b\u200b \u2060")
        assert receive_until(ws, "#composer-error:-soup-contains('Type a message first')")


def test_messages_json_pages_backwards_to_the_start(client: TestClient) -> None:
    session = open_room(client, "pages")
    with connect(client, session, "pages") as ws:
        for n in range(1, 6):
            send(ws, f"m{n}")
            receive_until(ws, f"li[data-n='{n}']")
    latest = client.get("/rooms/pages/messages.json").json()
    assert latest["before"] == 0 and len(latest["messages"]) == 5  # all of it: the start
    third = latest["messages"][2]["id"]
    page = client.get(f"/rooms/pages/messages.json?before={third}").json()
    assert [m["text"] for m in page["messages"]] == ["m1", "m2"] and page["before"] == 0
    assert client.get("/rooms/pages/messages.json?before=0").status_code == 422
