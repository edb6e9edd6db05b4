"""Designers' templates: one context for pages and pushes, overrides, contained errors."""

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat import rendering
from chat.app import create_app
from chat.config import Settings
from chat.context import STATE
from chat.formats import ROOM
from tests.html import messages, one, parse
from tests.test_protocol import json_socket, until
from tests.test_ws import connect, open_room, receive_until, send

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED = {"room", "viewer", "everyone", "chat", "language", "languages", *STATE}


def room_blocks(client: TestClient) -> list[str]:
    renderer = client.app.state.services.renderer  # type: ignore[attr-defined]
    return sorted({name for t in renderer._chain(ROOM) for name in t.blocks})


def test_pages_and_pushes_give_every_block_the_same_documented_variables(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    build = rendering.context

    def recording(*args: Any, **state: Any) -> dict[str, Any]:
        made = build(*args, **state)
        seen.append(("page" if "nonce" in state else "push", made))
        return made

    monkeypatch.setattr(rendering, "context", recording)
    session = open_room(client)
    with connect(client, session) as ws:
        send(ws, "hello")
        receive_until(ws, "li[data-n]")
        send(ws, "")
        receive_until(ws, "#composer-error:-soup-contains('empty')")
    client.post("/rooms/lobby/name", data={"session": session, "name": "Ann"})
    kinds = {kind for kind, _ in seen}
    assert kinds == {"page", "push"}
    for kind, made in seen:
        assert set(made) == DOCUMENTED, kind
    page = next(made for kind, made in seen if kind == "page")
    push = next(made for kind, made in seen if kind == "push")
    renderer = client.app.state.services.renderer  # type: ignore[attr-defined]
    message = _message(client)
    for block in room_blocks(client):
        for made in (page, push):  # each block renders both ways, or this raises
            renderer.render_block(ROOM, block, {**made, "m": made["m"] or message})


def _message(client: TestClient) -> Any:
    store = client.app.state.services.store  # type: ignore[attr-defined]
    [stored] = client.portal.call(store.recent, "lobby", 1)  # type: ignore[union-attr]
    return stored


def test_the_designers_guide_documents_every_block_and_variable(client: TestClient) -> None:
    guide = (ROOT / "docs" / "designers.md").read_text()
    for name in DOCUMENTED:
        assert f"`{name}`" in guide, f"variable {name} is not in docs/designers.md"
    for block in room_blocks(client):
        assert f"`{block}`" in guide, f"block {block} is not in docs/designers.md"
    css = (ROOT / "static" / "chat.css").read_text()
    for prop in sorted(set(re.findall(r"(--[a-z-]+):", css))):
        assert f"`{prop}`" in guide, f"custom property {prop} is not in docs/designers.md"


def test_every_colour_space_and_radius_in_the_stylesheet_is_a_custom_property() -> None:
    css = (ROOT / "static" / "chat.css").read_text()
    rules = re.sub(r":root\s*\{[^}]*\}", "", css)  # where the properties are defined
    rules = re.sub(
        r"@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{[^}]*\}\s*\}", "", rules
    )
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", rules)
    for prop in ("margin", "padding", "gap", "border-radius"):
        for value in re.findall(rf"(?<![-\w]){prop}(?:-[a-z]+)?:\s*([^;}}]+)", rules):
            literal = re.sub(r"var\(--[a-z-]+\)|\b0\b|auto", "", value)
            assert not re.search(r"\d", literal), f"{prop}: {value}"


def overrides(tmp_path: Path, message_block: str) -> Path:
    folder = tmp_path / "look"
    folder.mkdir(exist_ok=True)
    (folder / "room.html").write_text(
        '{% extends "default:room.html" %}{% block message %}' + message_block + "{% endblock %}"
    )
    return folder


MY_MESSAGE = (
    '<li id="msg-{{ m.id }}" data-n="{{ m.n }}" data-author="{{ m.author_key }}" class="mine">'
    '<b class="who">{{ m.author }}</b>: <span class="text">{{ m.text }}</span></li>'
)


def test_an_override_changes_one_block_on_the_page_and_in_pushes(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", templates_dir=overrides(tmp_path, MY_MESSAGE)
    )
    with TestClient(create_app(settings)) as client:
        with connect(client, open_room(client)) as ws:
            send(ws, "pushed")
            assert one(receive_until(ws, "li[data-n]"), "li b.who").get_text()
        page = client.get("/").text
        assert one(page, "li.mine .text").get_text() == "pushed"
        assert one(page, "#chat-form")  # every other block is the built-in one


@pytest.mark.parametrize("development", [False, True])
def test_a_broken_block_is_logged_and_delivery_goes_on(
    tmp_path: Path, development: bool, caplog: pytest.LogCaptureFixture
) -> None:
    broken = overrides(tmp_path, "<li>{{ session.key }}</li>")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        templates_dir=broken,
        development=development,
    )
    with caplog.at_level(logging.ERROR), TestClient(create_app(settings)) as client:
        with connect(client, open_room(client)) as ws, json_socket(client) as reader:
            until(reader, "members")
            send(ws, "into the broken block")
            frame = receive_until(ws, "form#chat-form")  # stored and acknowledged
            assert until(reader, "message")["text"] == "into the broken block"
            if development:  # the error shows where the fragment would have gone
                shown = frame if parse(frame).select("li.template-error") else ""
                shown = shown or receive_until(ws, "li.template-error")
                error = one(shown, "li.template-error").get_text()
                assert "room.html" in error and "'session' is undefined" in error
            else:
                assert not parse(frame).select("li.template-error")
            # The designer fixes the block: the next messages arrive, rendered.
            (broken / "room.html").write_text('{% extends "default:room.html" %}')
            client.app.state.services.renderer.env.cache.clear()  # type: ignore[attr-defined]
            send(ws, "after the fix")
            assert messages(receive_until(ws, "li[data-n]")) == [(2, "after the fix")]
    assert "room.html, line 1" in caplog.text and "'session' is undefined" in caplog.text


def test_the_gallery_is_on_in_development_and_off_by_default(tmp_path: Path) -> None:
    production = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}")
    with TestClient(create_app(production)) as client:
        assert client.get("/gallery").status_code == 404
    development = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", development=True)
    with TestClient(create_app(development)) as client:
        page = client.get("/gallery")
        assert page.status_code == 200
        titles = [h.get_text() for h in parse(page.text).select(".specimen h2")]
        for state in ("connecting", "online", "offline", "empty", "rate_limited", "too_long"):
            assert any(state in title for title in titles), state
        frames = [f["src"] for f in parse(page.text).select(".specimen iframe[title]")]
        assert len(frames) == len(titles) and "/gallery/messages" in frames
        assert parse(client.get("/gallery/messages").text).select("#messages li[data-author]")
        assert len(parse(client.get("/gallery/members").text).select("#members li")) > 30
        assert client.get("/gallery/nothing-like-this").status_code == 404
        framed = client.get("/gallery/members").headers
        assert "frame-ancestors 'self'" in framed["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
