"""A room page's history is rendered once for all its readers: through the real app, every
page still shows the room as it is now, and everything else on it is its reader's own."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat.app import create_app
from chat.config import Settings
from tests.html import messages, one, parse
from tests.test_actions import ORIGIN, say, stranger
from tests.test_protocol import json_socket, until

ROOM = "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}", rate_burst=1000)


def log(client: TestClient, headers: dict[str, str] | None = None) -> str:
    """The conversation as the room's page shows it now."""
    return str(one(client.get(f"/rooms/{ROOM}", headers=headers or {}).text, "#log"))


def unshared(client: TestClient) -> str:
    """The same, rendered from scratch."""
    client.app.state.services.renderer.shared.clear()  # type: ignore[attr-defined]
    return log(client)


def test_a_page_shows_every_change_at_once(client: TestClient) -> None:
    first = say(client, "first", ROOM)
    say(client, "second", ROOM)
    assert [text for _, text in messages(log(client))] == ["first", "second"]
    log(client)  # now kept
    assert client.post(
        f"/rooms/{ROOM}/messages/{first}/edit", data={"text": "first!"}, headers=ORIGIN
    )
    shown = log(client)
    assert one(shown, f"#msg-{first} .text").get_text() == "first!"
    assert one(shown, f"#msg-{first}").select(".edited")
    assert shown == unshared(client)
    react = f"/rooms/{ROOM}/messages/{first}/reactions"
    assert client.post(react, data={"emoji": "🎉"}, headers=stranger(client))
    shown = log(client)
    assert one(shown, f"#msg-{first} .reaction").get_text(" ", strip=True).startswith("🎉 1")
    assert shown == unshared(client)
    assert client.post(f"/rooms/{ROOM}/messages/{first}/delete", headers=ORIGIN)
    shown = log(client)
    assert "deleted" in str(one(shown, f"#msg-{first}")["class"])
    assert shown == unshared(client)
    say(client, "third", ROOM)
    shown = log(client)
    assert [text for _, text in messages(shown)][1:] == ["second", "third"]
    assert shown == unshared(client)


def test_readers_share_the_history_and_nothing_else(client: TestClient) -> None:
    say(client, "mine", ROOM)
    other = stranger(client)
    pages = [client.get(f"/rooms/{ROOM}").text, client.get(f"/rooms/{ROOM}", headers=other).text]
    sessions = {str(one(p, "#chat-form input[name=session]")["value"]) for p in pages}
    styles = {parse(p).select("style")[0].get_text() for p in pages}
    nonces = {str(parse(p).select("style")[0]["nonce"]) for p in pages}
    assert len(sessions) == len(styles) == len(nonces) == 2
    assert str(one(pages[0], "#log")) == str(one(pages[1], "#log"))
    [owner] = {str(li["data-owner"]) for li in parse(pages[0]).select("#messages li[data-n]")}
    assert owner in styles.pop() + styles.pop()  # only the writer's page marks it as theirs
    assert sum(owner in parse(p).select("style")[0].get_text() for p in pages) == 1


def test_a_name_is_marked_once_its_person_is_here(client: TestClient) -> None:
    say(client, "hi @carol", ROOM)
    assert not parse(log(client)).select("mark.mention")
    with json_socket(client, ROOM, name="carol") as carol:
        key = until(carol, "welcome")["key"]
        [mark] = parse(log(client)).select("mark.mention")
        assert mark["data-mention"] == key
    assert not parse(log(client)).select("mark.mention")


@pytest.fixture
def elsewhere(settings: Settings) -> Iterator[TestClient]:
    """A second process on the same database."""
    with TestClient(create_app(settings), base_url="http://testserver") as other:
        yield other


def test_a_page_shows_what_another_process_stored(
    client: TestClient, elsewhere: TestClient
) -> None:
    say(client, "from here", ROOM)
    log(client)
    said = say(elsewhere, "from there", ROOM)
    assert [text for _, text in messages(log(client))] == ["from here", "from there"]
    edit: dict[str, Any] = {"data": {"text": "from there!"}, "headers": ORIGIN}
    assert elsewhere.post(f"/rooms/{ROOM}/messages/{said}/edit", **edit)
    assert [text for _, text in messages(log(client))] == ["from here", "from there!"]
