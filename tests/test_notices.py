"""Notices that help: your own arrival before your first message, a reload told to nobody,
and only the last few notices kept on a page left open for days."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat import hub
from tests.html import parse
from tests.test_ws import connect, open_room, send


def frames_until(ws: Any, selector: str, limit: int = 30) -> list[str]:
    """Every frame read up to and including the first with `selector`."""
    seen = []
    for _ in range(limit):
        frame: str = ws.receive_text()
        seen.append(frame)
        if parse(frame).select(selector):
            return seen
    raise AssertionError(f"no frame with {selector}")


def test_your_own_arrival_comes_before_your_first_message(client: TestClient) -> None:
    session = open_room(client, "arrival")
    with connect(client, session, "arrival") as ws:
        send(ws, "first words")  # at once: before the presence gathering has gone out
        seen = "".join(frames_until(ws, "#messages li[data-n]"))
    items = parse(seen).select("#messages li")
    kinds = ["notice" if "notice" in (li.get("class") or []) else "message" for li in items]
    assert kinds.index("notice") < kinds.index("message"), kinds


def test_a_reload_is_told_to_nobody(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "RELOAD_GRACE", 1.0)
    watcher = open_room(client, "reload")
    client.cookies.clear()
    first = open_room(client, "reload")  # the same browser reloads: its name cookie stays
    with connect(client, watcher, "reload") as watching:
        with connect(client, first, "reload"):
            frames_until(watching, "li.notice:-soup-contains('joined')")
        again = open_room(client, "reload")
        with connect(client, again, "reload"):
            seen = "".join(frames_until(watching, "#members"))
            assert not parse(seen).select("li.notice"), seen
        # Leaving for good is told, after the grace.
        seen = "".join(frames_until(watching, "li.notice"))
        assert parse(seen).select("li.notice:-soup-contains('left')")


def test_a_page_keeps_only_the_last_notices(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "NOTICES_KEPT", 3)
    monkeypatch.setattr(hub, "RELOAD_GRACE", 0.1)
    watcher = open_room(client, "many")
    seen: list[str] = []
    with connect(client, watcher, "many") as watching:
        seen += frames_until(watching, "li.notice")  # the watcher's own arrival: 1 kept
        for _ in range(4):
            client.cookies.clear()
            with connect(client, open_room(client, "many"), "many"):
                seen += frames_until(watching, "li.notice:-soup-contains('joined')")
            seen += frames_until(watching, "li.notice:-soup-contains('left')")
    page = parse("".join(seen))
    shown = [li["id"] for li in page.select("li.notice")]
    removed = [li["id"] for li in page.select("li[hx-swap-oob=delete][id^=notice-]")]
    assert len(shown) == 9 and removed == shown[:6]  # the oldest go, the last 3 stay


def test_a_notice_ends_a_group(client: TestClient) -> None:
    ann = open_room(client, "groups")
    with connect(client, ann, "groups") as ws:
        send(ws, "one")
        frames_until(ws, "li[data-n='1']")
        client.cookies.clear()
        with connect(client, open_room(client, "groups"), "groups"):
            frames_until(ws, "li.notice:-soup-contains('joined')")
        send(ws, "two, after someone came")
        seen = "".join(frames_until(ws, "li[data-n='2']"))
    assert "continued" not in (parse(seen).select_one("li[data-n='2']").get("class") or [])
