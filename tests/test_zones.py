"""Times on the reader's clocks: a zone chosen on /settings, remembered by the browser, in the
page and in every push, rendered once per zone among a room's readers."""

import pytest
from fastapi.testclient import TestClient

from chat.zones import ZONE_COOKIE
from tests.html import one, parse
from tests.test_ws import receive_until, send
from tests.variants import connected, pushed_renders

ORIGIN = {"origin": "http://testserver"}


def test_a_browser_chooses_its_zone_on_the_settings_page(client: TestClient) -> None:
    page = client.get("/settings?next=/rooms/tz")
    assert one(page.text, "#zone-input option[selected]")["value"] == "UTC"
    chosen = client.post(
        "/settings",
        data={"zone": "Asia/Tokyo", "next": "/rooms/tz"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert chosen.headers["location"] == "/rooms/tz"
    assert "Asia/Tokyo" in chosen.headers["set-cookie"]
    page = client.get("/rooms/tz")
    assert "tz=Asia/Tokyo" in one(page.text, "[ws-connect]")["ws-connect"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", ""])
def test_an_unknown_zone_is_refused_with_a_clear_error(client: TestClient, zone: str) -> None:
    refused = client.post("/settings", data={"zone": zone}, headers=ORIGIN)
    assert refused.status_code == 422
    assert ZONE_COOKIE not in refused.headers.get("set-cookie", "")


def test_each_reader_sees_times_on_their_clocks_rendered_once_per_zone(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = pushed_renders(monkeypatch)
    readers = []
    for zone in ("UTC", "Asia/Tokyo", "UTC", "Asia/Tokyo"):
        client.cookies.set(ZONE_COOKIE, zone)
        page = client.get("/rooms/clocks")
        readers.append((zone, str(one(page.text, "#chat-form input[name=session]")["value"])))
    client.cookies.clear()
    sockets = [(f"/rooms/clocks/ws?session={session}&tz={zone}", {}) for zone, session in readers]
    with connected(client, sockets) as opened:
        renders.clear()
        send(opened[0], "what time is it?")
        fragments = [receive_until(ws, "#messages li[data-n]") for ws in opened]
        zones = sorted(r["zone"].key for r in renders)
        assert zones == ["Asia/Tokyo", "UTC"]  # four readers, two zones: two renders
        hours = {}
        for (zone, _), fragment in zip(readers, fragments, strict=True):
            stamp = parse(fragment).select_one("li[data-n] time")
            hours[zone] = stamp.get_text()
        assert hours["UTC"] != hours["Asia/Tokyo"]  # nine hours apart


@pytest.mark.parametrize("next_page", ["/\t/evil.example", "/\n/evil.example", "//evil.example"])
def test_settings_only_lead_back_to_our_own_pages(client: TestClient, next_page: str) -> None:
    page = client.get("/settings", params={"next": next_page})
    assert one(page.text, "#zone-form input[name=next]")["value"] == "/"
    chosen = client.post(
        "/settings",
        data={"zone": "UTC", "next": next_page},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert chosen.headers["location"] == "/"


def test_unknown_zone_names_are_not_kept() -> None:
    from chat.zones import zone

    for n in range(50):
        assert zone(f"Nowhere/{n}") is None
    assert zone("Asia/Tokyo") is zone("Asia/Tokyo")
