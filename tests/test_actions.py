"""Edit, delete, react and search through the real app: each form without JavaScript and with
htmx, who may do what, what a refusal leaves alone, and what the room's sockets receive."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat import rendering
from chat.app import create_app
from chat.config import Settings
from tests.html import one, parse
from tests.test_protocol import json_socket, until
from tests.test_ws import connect, open_room, receive_until
from tests.variants import connected

ORIGIN = {"origin": "http://testserver"}
HTMX = {**ORIGIN, "hx-request": "true"}


def stranger(client: TestClient) -> dict[str, str]:
    """Headers of a post from another browser (its own signed cookie)."""
    browser = client.app.state.services.sessions.new_browser()  # type: ignore[attr-defined]
    return {**ORIGIN, "cookie": f"chat_browser={browser}"}


def say(client: TestClient, text: str, room: str = "acts") -> int:
    """Post `text` from this client's browser, as a form does; the new message's id."""
    session = open_room(client, room)
    posted = client.post(
        f"/rooms/{room}/messages",
        data={"session": session, "message": text},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert posted.status_code == 303
    return int(stored(client, room)[-1]["id"])


def stored(client: TestClient, room: str = "acts") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(f"/rooms/{room}/messages.json").json()["messages"]
    return found


def item(html: str, message_id: int) -> Any:
    return one(html, f"#messages li#msg-{message_id}")


def refusal(html: str) -> str:
    return one(html, "#action-error").get_text()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Quick hands: tests post many messages from one browser (`strict` limits the pace)."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}", rate_burst=1000)


def served(tmp_path: Path, **settings: Any) -> Iterator[TestClient]:
    database = f"sqlite:///{tmp_path / 'other.db'}"
    with TestClient(create_app(Settings(database_url=database, **settings))) as test_client:
        yield test_client


@pytest.fixture
def late(tmp_path: Path) -> Iterator[TestClient]:
    """A server where messages can no longer be changed once sent."""
    yield from served(tmp_path, edit_window=0, rate_burst=1000)


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[TestClient]:
    """A server where two changes in a row is all anyone may do at once."""
    yield from served(tmp_path, rate_burst=2, rate_per_second=0.001)  # no refill meanwhile


# Without JavaScript: every form posts and comes back to the room.


def test_the_edit_form_page_and_saving_an_edit(client: TestClient) -> None:
    number = say(client, "frist")
    page = client.get(f"/rooms/acts/messages/{number}/edit")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    form = one(page.text, f"li#msg-{number} form.edit")
    assert form["method"] == "post" and form["action"] == f"/rooms/acts/messages/{number}/edit"
    assert one(page.text, f"#edit-{number}")["value"] == "frist"
    cancel = one(page.text, f"li#msg-{number} a.cancel")
    assert cancel["href"] == f"/rooms/acts#msg-{number}"

    saved = client.post(
        str(form["action"]), data={"text": "first"}, headers=ORIGIN, follow_redirects=False
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/rooms/acts#msg-{number}")
    shown = item(client.get("/rooms/acts").text, number)
    assert shown.select_one(".text").get_text() == "first"
    assert shown.select_one(".edited") is not None
    [message] = stored(client)
    assert message["text"] == "first" and message["edited"] is not None


def test_deleting_leaves_a_placeholder_without_the_text(client: TestClient) -> None:
    number = say(client, "oops, a secret")
    deleted = client.post(
        f"/rooms/acts/messages/{number}/delete", headers=ORIGIN, follow_redirects=False
    )
    assert (deleted.status_code, deleted.headers["location"]) == (
        303,
        f"/rooms/acts#msg-{number}",
    )
    page = client.get("/rooms/acts").text
    shown = item(page, number)
    assert "deleted" in shown["class"] and "secret" not in shown.get_text()
    assert shown.select(".actions, form") == []  # nothing left to react to or change
    [message] = stored(client)
    assert message["deleted"] is True and message["text"] == ""


def test_reactions_are_counted_per_person_and_toggle(client: TestClient) -> None:
    number = say(client, "cake?")
    react = f"/rooms/acts/messages/{number}/reactions"
    given = client.post(react, data={"emoji": "🎉"}, headers=ORIGIN, follow_redirects=False)
    assert (given.status_code, given.headers["location"]) == (303, f"/rooms/acts#msg-{number}")
    client.post(react, data={"emoji": "🎉"}, headers=stranger(client))
    client.post(react, data={"emoji": "👍"}, headers=stranger(client))
    buttons = item(client.get("/rooms/acts").text, number).select(f"#reactions-{number} button")
    counts = [(b["value"], b.select_one(".count").get_text()) for b in buttons]
    assert counts == [("👍", "1"), ("🎉", "2")]  # in the order they are offered
    client.post(react, data={"emoji": "🎉"}, headers=ORIGIN)  # again: taken back
    [message] = stored(client)
    assert [(r["emoji"], r["count"]) for r in message["reactions"]] == [("👍", 1), ("🎉", 1)]


def test_search_is_a_get_form_whose_results_link_to_their_place(client: TestClient) -> None:
    first, _, third = (say(client, t) for t in ("Tea time", "coffee", "more TEA please"))
    page = client.get("/rooms/acts").text
    form = one(page, "form#search")
    assert (form["method"], form["action"]) == ("get", "/rooms/acts/search")
    found = client.get("/rooms/acts/search", params={"q": "tea"})
    assert found.status_code == 200
    links = [a["href"] for a in parse(found.text).select("#results ol.found a")]
    assert links == [f"/rooms/acts?around={n}#msg-{n}" for n in (third, first)]  # newest first
    marks = [m.get_text() for m in parse(found.text).select("#results mark")]
    assert marks == ["TEA", "Tea"]
    assert one(found.text, "#search-input")["value"] == "tea"
    one(found.text, "form#chat-form")  # the whole room, results beside it


def test_a_page_around_a_message_is_not_live_and_pages_on(client: TestClient) -> None:
    numbers = [say(client, f"m{i}") for i in range(60)]
    middle = numbers[10]
    page = client.get(f"/rooms/acts?around={middle}")
    assert page.status_code == 200
    assert parse(page.text).select("[ws-connect]") == []
    item(page.text, middle)
    newer = one(page.text, "#messages li.newer a")
    last_shown = int(str(parse(page.text).select("#messages li[data-n]")[-1]["id"])[4:])
    assert newer["href"] == f"/rooms/acts?around={last_shown}#msg-{last_shown}"
    more = client.get(str(newer["hx-get"]))
    ids = [int(str(li["id"])[4:]) for li in parse(more.text).select("li[data-n]")]
    assert ids == numbers[numbers.index(last_shown) + 1 :]
    end = one(more.text, "li.newer a")
    assert end["href"] == "/rooms/acts" and end.get("hx-get") is None


# With htmx: the answer is the block that changes.


def test_htmx_edit_swaps_the_item_for_the_form_and_back(client: TestClient) -> None:
    number = say(client, "draft")
    form = client.get(f"/rooms/acts/messages/{number}/edit", headers=HTMX)
    assert one(form.text, f"li#msg-{number}.editing form.edit")["hx-post"] == (
        f"/rooms/acts/messages/{number}/edit"
    )
    assert parse(form.text).select("#chat-form") == []  # only the block
    cancel = client.get(f"/rooms/acts/messages/{number}", headers=HTMX)
    assert one(cancel.text, f"li#msg-{number} .text").get_text() == "draft"
    saved = client.post(f"/rooms/acts/messages/{number}/edit", data={"text": "done"}, headers=HTMX)
    assert saved.status_code == 200
    assert one(saved.text, f"li#msg-{number} .text").get_text() == "done"
    one(saved.text, f"li#msg-{number} .edited")
    no_js = client.get(f"/rooms/acts/messages/{number}", follow_redirects=False)
    assert no_js.headers["location"] == f"/rooms/acts#msg-{number}"


def test_htmx_delete_and_reaction_answer_the_cleared_action_error(client: TestClient) -> None:
    number = say(client, "bye")
    reacted = client.post(
        f"/rooms/acts/messages/{number}/reactions", data={"emoji": "❤️"}, headers=HTMX
    )
    assert reacted.status_code == 200 and refusal(reacted.text) == ""
    deleted = client.post(f"/rooms/acts/messages/{number}/delete", headers=HTMX)
    assert deleted.status_code == 200 and refusal(deleted.text) == ""
    assert stored(client)[0]["deleted"] is True


def test_htmx_search_answers_the_results_block(client: TestClient) -> None:
    say(client, "alpha beta")
    found = client.get("/rooms/acts/search?q=beta", headers=HTMX)
    assert parse(found.text).select("#chat-form") == []
    assert one(found.text, "section#results mark").get_text() == "beta"


# Who may do what.


def test_another_browser_cannot_edit_or_delete_and_changes_nothing(client: TestClient) -> None:
    number = say(client, "mine")
    for path, data in [("edit", {"text": "hijacked"}), ("delete", {})]:
        url = f"/rooms/acts/messages/{number}/{path}"
        page = client.post(url, data=data, headers=stranger(client))
        assert page.status_code == 403
        assert refusal(page.text) == "You can only change your own messages."
        fragment = client.post(url, data=data, headers={**stranger(client), "hx-request": "true"})
        assert fragment.status_code == 403 and fragment.headers["hx-retarget"] == "#action-error"
        assert refusal(fragment.text) == "You can only change your own messages."
    form = client.get(f"/rooms/acts/messages/{number}/edit", headers=stranger(client))
    assert form.status_code == 403 and parse(form.text).select("form.edit") == []
    [message] = stored(client)
    assert (message["text"], message["edited"], message["deleted"]) == ("mine", None, False)


def test_a_json_client_cannot_change_a_browsers_message(client: TestClient) -> None:
    number = say(client, "from the page")
    with json_socket(client, "acts") as ws:
        until(ws, "members")
        ws.send_text(json.dumps({"type": "delete", "id": number}))
        assert until(ws, "error")["code"] == "not_yours"
    assert stored(client)[0]["deleted"] is False


def test_too_late_to_change_but_not_to_react(late: TestClient) -> None:
    number = say(late, "set in stone")
    page = late.get("/rooms/acts").text
    assert item(page, number).select(".mine") == []  # no Edit or Delete offered
    edited = late.post(
        f"/rooms/acts/messages/{number}/edit", data={"text": "changed"}, headers=ORIGIN
    )
    assert edited.status_code == 403
    assert "no longer be changed" in one(edited.text, f"#edit-error-{number}").get_text()
    assert one(edited.text, f"#edit-{number}")["value"] == "changed"  # the draft is kept
    deleted = late.post(f"/rooms/acts/messages/{number}/delete", headers=ORIGIN)
    assert deleted.status_code == 403 and "no longer be changed" in refusal(deleted.text)
    [message] = stored(late)
    assert (message["text"], message["deleted"]) == ("set in stone", False)
    react = late.post(
        f"/rooms/acts/messages/{number}/reactions",
        data={"emoji": "👍"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert react.status_code == 303


def test_unknown_and_deleted_messages(client: TestClient) -> None:
    number = say(client, "short-lived")
    client.post(f"/rooms/acts/messages/{number}/delete", headers=ORIGIN)
    for path, data in [("edit", {"text": "x"}), ("delete", {}), ("reactions", {"emoji": "👍"})]:
        unknown = client.post(f"/rooms/acts/messages/999/{path}", data=data, headers=ORIGIN)
        assert unknown.status_code == 404
        assert refusal(unknown.text) == "There is no message 999 in this room."
        gone = client.post(f"/rooms/acts/messages/{number}/{path}", data=data, headers=ORIGIN)
        assert gone.status_code == 410 and refusal(gone.text) == "That message was deleted."
        assert parse(gone.text).select("form.edit") == []
    assert client.get(f"/rooms/acts/messages/{number}/edit").status_code == 410
    [message] = stored(client)
    assert message["deleted"] and message["text"] == "" and message["reactions"] == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("  \n ", "empty"),
        ("x" * 2001, "the limit is 2,000"),
        ("ding\x07", "control characters"),
    ],
)
def test_a_bad_edit_keeps_the_form_and_the_message(
    client: TestClient, text: str, says: str
) -> None:
    number = say(client, "fine as it is")
    url = f"/rooms/acts/messages/{number}/edit"
    for headers in (ORIGIN, HTMX):
        answer = client.post(url, data={"text": text}, headers=headers)
        assert answer.status_code == 422
        assert says in one(answer.text, f"li#msg-{number} #edit-error-{number}").get_text()
    assert stored(client)[0]["text"] == "fine as it is"


@pytest.mark.parametrize(
    "bad_id", ["abc", "-1", "0", "1.5", "99999999999999999999999", "\N{ARABIC-INDIC DIGIT ONE}"]
)
def test_an_invalid_id_is_refused_clearly(client: TestClient, bad_id: str) -> None:
    say(client, "here")
    for path, data in [("edit", {"text": "x"}), ("delete", {}), ("reactions", {"emoji": "👍"})]:
        answer = client.post(f"/rooms/acts/messages/{bad_id}/{path}", data=data, headers=ORIGIN)
        assert answer.status_code == 422, (path, answer.text)
        assert "positive whole number" in refusal(answer.text)
    for path in ("", "/edit"):
        answer = client.get(f"/rooms/acts/messages/{bad_id}{path}", headers={"accept": "text/html"})
        assert answer.status_code == 422 and "positive whole number" in answer.text
    assert stored(client)[0]["text"] == "here"


@pytest.mark.parametrize("emoji", ["", "x", "👍👍", "💩", "<b>"])
def test_only_the_offered_reactions(client: TestClient, emoji: str) -> None:
    number = say(client, "react to me")
    answer = client.post(
        f"/rooms/acts/messages/{number}/reactions", data={"emoji": emoji}, headers=HTMX
    )
    assert answer.status_code == 422
    assert refusal(answer.text) == "Choose one of the reactions offered: 👍 ❤️ 😂 🎉 😮."
    assert stored(client)[0]["reactions"] == []


def test_a_reaction_needs_a_browser(client: TestClient) -> None:
    number = say(client, "who's there?")
    answer = client.post(
        f"/rooms/acts/messages/{number}/reactions",
        data={"emoji": "👍"},
        headers={**ORIGIN, "cookie": ""},
    )
    assert answer.status_code == 403 and "Reload the page" in refusal(answer.text)
    assert stored(client)[0]["reactions"] == []


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_a_post_from_another_site_is_refused(client: TestClient, origin: str | None) -> None:
    number = say(client, "keep me")
    # A browser always names the page a post comes from: Origin, or at least a Referer.
    headers = {"origin": origin} if origin else {"referer": "https://evil.example/page"}
    for path, data in [("edit", {"text": "x"}), ("delete", {}), ("reactions", {"emoji": "👍"})]:
        answer = client.post(f"/rooms/acts/messages/{number}/{path}", data=data, headers=headers)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "bad_origin"
    [message] = stored(client)
    assert (message["text"], message["deleted"], message["reactions"]) == ("keep me", False, [])


def test_changes_are_rate_limited_per_person(strict: TestClient) -> None:
    numbers = [say(strict, "a"), say(strict, "b")]  # (posting is limited apart)
    react = [f"/rooms/acts/messages/{n}/reactions" for n in numbers]
    codes = [strict.post(r, data={"emoji": "👍"}, headers=HTMX).status_code for r in react * 2]
    assert codes == [200, 200, 429, 429]
    limited = strict.post(react[0], data={"emoji": "😮"}, headers=ORIGIN)
    assert limited.status_code == 429 and "slow" in refusal(limited.text).lower()
    other = strict.post(
        react[0], data={"emoji": "😮"}, headers={**stranger(strict), "hx-request": "true"}
    )
    assert other.status_code == 200  # somebody else is not slowed down
    counts = [[(r["emoji"], r["count"]) for r in m["reactions"]] for m in stored(strict)]
    assert counts == [[("👍", 1), ("😮", 1)], [("👍", 1)]]


# What the room's sockets receive.


def block_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every `changed` or `reacted` render from now on."""
    renders: list[str] = []
    block = rendering.Renderer.block

    def counted(self: Any, template: str, name: str, *args: Any, **state: Any) -> str:
        if name in {"changed", "reacted"}:
            renders.append(name)
        return block(self, template, name, *args, **state)

    monkeypatch.setattr(rendering.Renderer, "block", counted)
    return renders


def test_changes_reach_pages_out_of_band_rendered_once_per_variant(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = say(client, "live")
    renders = block_renders(monkeypatch)
    readers = [open_room(client, "acts") for _ in range(3)]
    sockets = [(f"/rooms/acts/ws?session={s}", {}) for s in readers]
    with connected(client, sockets) as pages, json_socket(client, "acts") as program:
        until(program, "members")
        url = f"/rooms/acts/messages/{number}"
        client.post(f"{url}/edit", data={"text": "alive"}, headers=HTMX)
        for ws in pages:
            frame = receive_until(ws, f"li#msg-{number}")
            li = one(frame, f"li#msg-{number}")
            assert li["hx-swap-oob"] == "true" and li.parent.name == "[document]"  # top level
            assert li.select_one(".text").get_text() == "alive" and li.select_one(".edited")
        edit = until(program, "edit")
        assert (edit["id"], edit["text"]) == (number, "alive") and edit["edited"]

        client.post(f"{url}/reactions", data={"emoji": "😂"}, headers=HTMX)
        for ws in pages:
            span = one(receive_until(ws, f"#reactions-{number}"), f"span#reactions-{number}")
            assert span["hx-swap-oob"] == "true" and span.parent.name == "[document]"
            assert [b["value"] for b in span.select("button")] == ["😂"]
        reactions = until(program, "reactions")
        assert [(r["emoji"], r["count"]) for r in reactions["reactions"]] == [("😂", 1)]

        client.post(f"{url}/delete", headers=HTMX)
        for ws in pages:
            li = one(receive_until(ws, f"li#msg-{number}.deleted"), f"li#msg-{number}")
            assert li["hx-swap-oob"] == "true" and "alive" not in li.get_text()
        assert until(program, "delete") == {"type": "delete", "room": "acts", "id": number}
    # Once for the three readers (one variant); one more `reacted`: the answer to who reacted.
    assert renders == ["changed", "reacted", "reacted", "changed"]


def test_a_page_that_connects_later_shows_the_current_state(client: TestClient) -> None:
    kept, gone = say(client, "to keep"), say(client, "to go")
    url = "/rooms/acts/messages/{}/{}"
    client.post(url.format(kept, "edit"), data={"text": "kept, edited"}, headers=ORIGIN)
    client.post(url.format(kept, "reactions"), data={"emoji": "👍"}, headers=ORIGIN)
    client.post(url.format(kept, "reactions"), data={"emoji": "👍"}, headers=stranger(client))
    client.post(url.format(gone, "delete"), headers=ORIGIN)
    page = client.get("/rooms/acts").text
    with connect(client, str(one(page, "#chat-form input[name=session]")["value"]), "acts") as ws:
        receive_until(ws, "#status")
    for html in (page, client.get(f"/rooms/acts?around={kept}").text):
        shown = item(html, kept)
        assert shown.select_one(".text").get_text() == "kept, edited" and shown.select_one(
            ".edited"
        )
        assert one(str(shown), f"#reactions-{kept} .count").get_text() == "2"
        assert "to go" not in item(html, gone).get_text()


def test_a_json_client_changes_its_own_messages(client: TestClient) -> None:
    with json_socket(client, "acts", name="jay") as ws:
        until(ws, "members")
        ws.send_text(json.dumps({"type": "message", "message": "tpyo"}))
        number = until(ws, "sent")["id"]
        for command, event in [
            ({"type": "edit", "id": number, "text": "typo"}, "edit"),
            ({"type": "react", "id": number, "emoji": "👍"}, "reactions"),
            ({"type": "delete", "id": number}, "delete"),
        ]:
            ws.send_text(json.dumps(command))
            seen: list[dict[str, Any]] = []
            done = until(ws, "done", seen)
            assert done == {"type": "done", "room": "acts", "change": command["type"], "id": number}
            assert [e["type"] for e in seen] == [event, "done"]  # as for a message: event, reply
    [message] = stored(client)
    assert message["deleted"] and message["edited"]


# Search: any text is a query.


@pytest.mark.parametrize(
    "query",
    ['"tea', "tea*", "tea OR coffee", "-tea", "tea'; DROP TABLE messages; --", "NEAR(tea)", "^tea"],
)
def test_query_syntax_is_just_text(client: TestClient, query: str) -> None:
    say(client, "tea or coffee, near the drop table messages")
    found = client.get("/rooms/acts/search", params={"q": query}, headers=HTMX)
    assert found.status_code == 200
    assert [m.get_text().lower() for m in parse(found.text).select("mark")][:1] == ["tea"]
    assert stored(client)[0]["text"] == "tea or coffee, near the drop table messages"


@pytest.mark.parametrize("query", ["", "   ", "!!! ???", "* - ''"])
def test_a_query_without_words_shows_nothing_and_no_error(client: TestClient, query: str) -> None:
    say(client, "anything")
    for headers in (HTMX, {}):
        found = client.get("/rooms/acts/search", params={"q": query}, headers=headers)
        assert found.status_code == 200
        results = one(found.text, "section#results")
        assert results.select("ol.found li") == [] and results.select(".error") == []


def test_a_query_longer_than_the_form_allows_is_cut_not_refused(client: TestClient) -> None:
    say(client, "tea")
    found = client.get("/rooms/acts/search", params={"q": "tea " + "x" * 500}, headers=HTMX)
    assert found.status_code == 200 and one(found.text, "#results .hint")


def test_whose_it_is_is_said_before_what_is_wrong_with_the_text(client: TestClient) -> None:
    mine, gone = say(client, "mine"), say(client, "gone")
    client.post(f"/rooms/acts/messages/{gone}/delete", headers=ORIGIN)
    deleted = client.post(f"/rooms/acts/messages/{gone}/edit", data={}, headers=ORIGIN)
    assert deleted.status_code == 410 and parse(deleted.text).select("form.edit") == []
    # (last: a refusal's page gives this client the stranger's cookie)
    theirs = client.post(f"/rooms/acts/messages/{mine}/edit", data={}, headers=stranger(client))
    assert theirs.status_code == 403 and parse(theirs.text).select("form.edit") == []


# What a browser's identity is made of, and what it cannot be made of.


def test_a_page_never_carries_what_makes_its_browser_the_author(client: TestClient) -> None:
    """The session id in the page names the browser by its public tag, not by the cookie: a
    cookie made from anything a page shows (or made up) changes nothing."""
    number = say(client, "only mine")
    session = open_room(client, "acts")
    payload = client.app.state.services.sessions.signer.loads(session)  # type: ignore[attr-defined]
    cookie = client.cookies["chat_browser"]
    assert payload["b"].startswith("b") and cookie not in session and payload["b"] not in cookie
    for forged in (payload["b"], cookie.split(".")[0], "made-up"):
        answer = client.post(
            f"/rooms/acts/messages/{number}/delete",
            headers={**ORIGIN, "cookie": f"chat_browser={forged}"},
        )
        assert answer.status_code == 403
    assert stored(client)[0]["deleted"] is False
    tags = {open_room(client, room) and client.app.state.services.sessions.browser_tag(  # type: ignore[attr-defined]
        cookie, room) for room in ("acts", "elsewhere")}  # fmt: skip
    assert len(tags) == 2  # one browser, a different tag in each room


def test_a_reaction_shows_a_name_only_as_names_are_allowed(client: TestClient) -> None:
    number = say(client, "react to me")
    browser = client.cookies["chat_browser"]
    named = f"chat_browser={browser}; chat_name=%E2%80%AEevil%0D%0Aname"  # bidi override, CR LF
    url = f"/rooms/acts/messages/{number}/reactions"
    client.post(url, data={"emoji": "👍"}, headers={**ORIGIN, "cookie": named})
    [reaction] = stored(client)[0]["reactions"]
    assert reaction["names"] == ["?"]


def test_the_one_who_deletes_or_reacts_gets_the_change_in_place(client: TestClient) -> None:
    """A page without a socket (a page of history) shows its own change at once."""
    number = say(client, "to go")
    url = f"/rooms/acts/messages/{number}"
    reacted = client.post(f"{url}/reactions", data={"emoji": "🎉"}, headers=HTMX)
    span = one(reacted.text, f"span#reactions-{number}")
    assert span["hx-swap-oob"] == "true" and span.select_one(".reaction")["value"] == "🎉"
    assert one(reacted.text, "#action-error").get_text() == ""
    deleted = client.post(f"{url}/delete", headers=HTMX)
    li = one(deleted.text, f"li#msg-{number}")
    assert li["hx-swap-oob"] == "true" and "deleted" in li["class"] and "to go" not in li.text


def test_history_restore_gets_the_whole_page(client: TestClient) -> None:
    """Back to a search's address: htmx asks for it again and needs the whole page."""
    say(client, "findable words")
    restore = {"hx-request": "true", "hx-history-restore-request": "true"}
    page = client.get("/rooms/acts/search?q=findable", headers=restore)
    assert one(page.text, "[ws-connect]") and one(page.text, "#results mark").text == "findable"
    assert "HX-Request" in client.get("/rooms/acts/search?q=x", headers=HTMX).headers["vary"]


def test_searching_is_rate_limited_per_address(strict: TestClient) -> None:
    codes = [strict.get("/rooms/acts/search?q=x", headers=HTMX).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_stale_change_never_undoes_a_newer_one(client: TestClient) -> None:
    """Changes stored by two processes may be published out of order: each page keeps the
    newest state of a message (by its version)."""
    number = say(client, "original")
    services = client.app.state.services  # type: ignore[attr-defined]
    with connect(client, open_room(client, "acts"), "acts") as ws:
        receive_until(ws, "#members")
        edited = client.post(
            f"/rooms/acts/messages/{number}/edit", data={"text": "edited"}, headers=ORIGIN
        )
        assert edited.status_code in {200, 303}
        receive_until(ws, f"li#msg-{number}[hx-swap-oob]")
        client.post(f"/rooms/acts/messages/{number}/delete", headers=ORIGIN)
        receive_until(ws, f"li#msg-{number}.deleted")
        now = client.portal.call(services.store.get, "acts", number)
        # The edit's event again (version 1, before the delete's 2), as if published late:
        old = {**now.to_json(), "text": "edited", "deleted_at": None, "version": 1}
        event = {"type": "edit", "room": "acts", "message": old, "previous": None}
        client.portal.call(services.broker.publish, "room:acts", event)
        frame = receive_until(ws, "[hx-swap-oob]")  # the next push: a heartbeat, at most
        assert f"msg-{number}" not in frame  # the stale edit never reached the page


def test_a_store_that_fails_is_said_and_nothing_is_published(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat.errors import StoreUnavailable

    number = say(client, "steady")
    services = client.app.state.services  # type: ignore[attr-defined]

    async def away(*_: Any) -> None:
        raise StoreUnavailable("The database is not answering.")

    monkeypatch.setattr(services.store, "react", away)
    with connect(client, open_room(client, "acts"), "acts") as ws:
        receive_until(ws, "#members")
        url = f"/rooms/acts/messages/{number}/reactions"
        answer = client.post(url, data={"emoji": "👍"}, headers=HTMX)
        assert answer.status_code == 503 and answer.headers["hx-retarget"] == "#action-error"
        assert "not answering" in one(answer.text, "#action-error").get_text()
        frame = receive_until(ws, "[hx-swap-oob]")  # the next push: a heartbeat, no change
        assert f"reactions-{number}" not in frame


def test_search_pages_on_to_older_results(client: TestClient) -> None:
    session = open_room(client, "many")
    for n in range(1, 54):
        data = {"session": session, "message": f"apple number {n}", "n": str(n)}
        client.post("/rooms/many/messages", data=data, headers=ORIGIN, follow_redirects=False)
    first = parse(client.get("/rooms/many/search?q=apple", headers=HTMX).text)
    shown = [a.get_text(" ", strip=True).rsplit(" ", 1)[-1] for a in first.select(".found a")]
    assert len(shown) == 50 and shown[0] == "53" and shown[-1] == "4"
    older = first.select_one(".more-results a")
    assert older["hx-push-url"] == "true"
    rest = parse(client.get(str(older["href"]), headers=HTMX).text)
    assert [a.get_text(" ", strip=True).rsplit(" ", 1)[-1] for a in rest.select(".found a")] == [
        "3",
        "2",
        "1",
    ]
    assert rest.select(".more-results") == []


def test_a_change_published_after_a_newer_one_is_in_the_newer_one(client: TestClient) -> None:
    """An edit (version 1) whose event comes after a reaction's (version 2): the reaction's
    event holds the whole message, so pages get the edit from it; the late edit is dropped."""
    number = say(client, "first words")
    services = client.app.state.services  # type: ignore[attr-defined]
    with connect(client, open_room(client, "acts"), "acts") as ws:
        receive_until(ws, "#members")
        now = client.portal.call(services.store.get, "acts", number).to_json()
        edited = {**now, "text": "second words", "version": 1, "edited_at": now["created_at"]}
        reacted = {
            **edited,
            "version": 2,
            "reactions": [{"emoji": "👍", "names": ["Bob"], "owners": ["bx"]}],
        }
        for kind, message in (("react", reacted), ("edit", edited)):
            event = {"type": kind, "room": "acts", "message": message, "previous": None}
            client.portal.call(services.broker.publish, "room:acts", event)
        frame = receive_until(ws, f"li#msg-{number}[hx-swap-oob]")  # the whole message
        li = one(frame, f"li#msg-{number}")
        assert li.select_one(".text").get_text() == "second words" and li.select_one(".reaction")
        assert f"msg-{number}" not in receive_until(ws, "[hx-swap-oob]")  # then: no late edit


def test_a_refused_search_leaves_the_address_alone(strict: TestClient) -> None:
    for _ in range(2):
        strict.get("/rooms/acts/search?q=x", headers=HTMX)
    refused = strict.get("/rooms/acts/search?q=x", headers=HTMX)
    assert refused.status_code == 429 and refused.headers["hx-push-url"] == "false"
    assert "search" in one(refused.text, "#action-error").get_text()
    malformed = strict.get("/rooms/acts/older?before=x", headers=HTMX)
    assert malformed.status_code == 422 and one(malformed.text, "#action-error").get_text()
