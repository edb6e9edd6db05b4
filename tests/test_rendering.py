"""The renderer: a block shared by every page of a room's variant renders exactly as each page
would have rendered it, and is rendered again as soon as it would show something else."""

import contextlib
import dataclasses
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment
from jinja2.filters import do_urlencode
from markupsafe import Markup

from chat import i18n, sharing, template_functions, text
from chat.config import Settings
from chat.context import Look, Viewer
from chat.i18n import Languages
from chat.rendering import Renderer, make_environment
from chat.sharing import Shared
from chat.store.base import Message, Reaction
from tests.html import one, parse

ROOM = "room.html"
ANN = Viewer(key="k-ann", name="ann", session="s-ann", next=3, owner="b-ann")
BOB = Viewer(key="k-bob", name="bob", session="s-bob", next=1, owner="b-bob")
NOW = datetime.now(UTC)


def message(id: int, text: str = "hello", *, ago: float = 60.0, **changes: Any) -> Message:
    made = Message(
        room="r",
        author="ann",
        author_key="k-ann",
        n=id,
        text=text,
        created_at=NOW - timedelta(seconds=ago),
        owner="b-ann",
        id=id,
    )
    return dataclasses.replace(made, **changes)


HISTORY = [
    message(1, "first, two days ago", ago=2 * 86400),
    message(2, "hi @bob and @carol, see https://example.com/x.", ago=3600),
    message(3, "edited", ago=120, edited_at=NOW, version=1),
    message(4, "", ago=90, deleted_at=NOW, version=1),
    message(5, "liked", ago=30, reactions=(Reaction("👍", ("bob",), ("b-bob",)),), version=1),
]


def page(
    renderer: Renderer,
    viewer: Viewer = ANN,
    history: list[Message] = HISTORY,
    present: dict[str, str] | None = None,
    shared: bool = True,
    **state: Any,
) -> str:
    """The live page of room `r` for `viewer`, its history shared (or not) with other pages."""
    key = Shared("messages", ("r", "en", "UTC", ""), tuple((m.id, m.version) for m in history))
    return renderer.page(
        ROOM,
        "r",
        viewer,
        shared=key if shared else None,
        messages=history,
        present={"bob": "k-bob"} if present is None else present,
        members=["ann", "bob"],
        nonce=f"nonce-{viewer.key}",
        path="/rooms/r",
        **state,
    )


def log(html: str) -> str:
    return str(one(html, "#log"))


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(Look.of(Settings()))


def test_a_shared_history_is_what_each_page_would_render(renderer: Renderer) -> None:
    for viewer in (ANN, BOB, ANN):  # the first renders and keeps it, the others reuse it
        assert page(renderer, viewer) == page(renderer, viewer, shared=False)
    assert len(renderer.shared) == 1


def test_a_page_body_is_the_page_encoded(renderer: Renderer) -> None:
    for viewer in (ANN, BOB):
        key = Shared("messages", ("r",), ())
        body = renderer.page_body(ROOM, "r", viewer, shared=key, messages=HISTORY, nonce="n")
        assert body == renderer.page(ROOM, "r", viewer, messages=HISTORY, nonce="n").encode()


def test_the_rest_of_the_page_stays_each_readers(renderer: Renderer) -> None:
    ann, bob = page(renderer, ANN), page(renderer, BOB)
    assert log(ann) == log(bob)
    for html, viewer in ((ann, ANN), (bob, BOB)):
        assert one(html, "#chat-form input[name=session]")["value"] == viewer.session
        assert one(html, "#chat-form input[name=n]")["value"] == str(viewer.next)
        assert one(html, "#name-input")["value"] == viewer.name
        style = parse(html).select("style")[0]  # the viewer's; then the <noscript> one
        assert f'data-author="{viewer.key}"' in style.get_text()
        assert style["nonce"] == f"nonce-{viewer.key}"
        assert f"session={viewer.session}" in str(one(html, "[ws-connect]")["ws-connect"])


def test_a_changed_message_is_rendered_again(renderer: Renderer) -> None:
    page(renderer)
    changed = [*HISTORY[:-1], dataclasses.replace(HISTORY[-1], text="liked more", version=2)]
    html = page(renderer, history=changed)
    assert "liked more" in one(html, "#msg-5 .text").get_text()
    assert html == page(renderer, history=changed, shared=False)


def test_who_is_named_decides_and_nobody_else(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = count_renders(renderer, monkeypatch)
    page(renderer)
    assert [m["data-mention"] for m in parse(page(renderer)).select("mark.mention")] == ["k-bob"]
    page(renderer, present={"bob": "k-bob", "dave": "k-dave"})  # not named: the same history
    assert len(rendered) == 1
    html = page(renderer, present={"bob": "k-bob", "carol": "k-carol"})  # named: arrives
    assert [m["data-mention"] for m in parse(html).select("mark.mention")] == ["k-bob", "k-carol"]
    html = page(renderer, present={"bob": "k-bob2"})  # named: back with another page
    assert [m["data-mention"] for m in parse(html).select("mark.mention")] == ["k-bob2"]
    assert len(rendered) == 3


def test_edit_links_go_when_the_edit_window_closes(renderer: Renderer) -> None:
    now = datetime.now(UTC)
    recent = [dataclasses.replace(message(1), created_at=now - timedelta(seconds=895))]
    assert renderer.look.edit_window == 900
    assert one(page(renderer, history=recent), "#msg-1").select(".mine")
    with clocks(now + timedelta(seconds=10)):
        html = page(renderer, history=recent)
        assert not one(html, "#msg-1").select(".mine")
        assert html == page(renderer, history=recent, shared=False)


def test_today_becomes_yesterday_at_midnight(renderer: Renderer) -> None:
    zone = ZoneInfo("Asia/Tokyo")
    evening = datetime.now(zone).replace(hour=23, minute=0, second=0, microsecond=0)
    late = [message(1, ago=0)]
    late = [dataclasses.replace(late[0], created_at=evening.astimezone(UTC))]

    def day(html: str) -> str:
        return one(html, "li.day").get_text()

    with clocks(evening + timedelta(minutes=59)):
        assert day(page(renderer, history=late, zone=zone)) == "Today"
    with clocks(evening + timedelta(minutes=61)):
        assert day(page(renderer, history=late, zone=zone)) == "Yesterday"


def test_a_block_that_reads_everyone_present_depends_on_everyone(tmp_path: Path) -> None:
    (tmp_path / "room.html").write_text(
        '{% extends "default:room.html" %}'
        "{% block messages %}<p id=here>{{ present | length }}</p>{{ super() }}{% endblock %}"
    )
    renderer = Renderer(Look.of(Settings()), make_environment(tmp_path))
    assert one(page(renderer), "#here").get_text() == "1"
    assert one(page(renderer, present={"x": "1", "y": "2"}), "#here").get_text() == "2"
    html = page(renderer, present={"x": "1", "y": "2"})
    assert html == page(renderer, present={"x": "1", "y": "2"}, shared=False)


def test_a_designers_block_and_its_super_are_shared_as_rendered(tmp_path: Path) -> None:
    (tmp_path / "room.html").write_text(
        '{% extends "default:room.html" %}'
        "{% block messages %}<p id=mine>{{ messages | length }}</p>{{ super() }}{% endblock %}"
    )
    renderer = Renderer(Look.of(Settings()), make_environment(tmp_path))
    for viewer in (ANN, BOB):
        html = page(renderer, viewer)
        assert one(html, "#mine").get_text() == "5" and one(html, "#msg-5")
        assert html == page(renderer, viewer, shared=False)


def test_a_history_shown_to_one_reader_is_never_shared(tmp_path: Path) -> None:
    """A designer's page that shows the history with the reader's `viewer` renders it anew."""
    (tmp_path / "room.html").write_text(
        '{% extends "default:room.html" %}'
        "{% block main %}<p id=who>{{ viewer.name }}</p>{{ self.messages() }}{% endblock %}"
        "{% block messages %}<p id=for>{{ viewer.name }}</p>{% endblock %}"
    )
    renderer = Renderer(Look.of(Settings()), make_environment(tmp_path))
    assert one(page(renderer, ANN), "#for").get_text() == "ann"
    assert one(page(renderer, BOB), "#for").get_text() == "bob"
    assert not renderer.shared


def test_shared_blocks_are_bounded(renderer: Renderer, monkeypatch: pytest.MonkeyPatch) -> None:
    page(renderer)
    [kept] = renderer.shared.blocks()
    monkeypatch.setattr(sharing, "SHARED_BYTES", 3 * kept.size)
    for room in range(10):
        key = Shared("messages", (f"room-{room}",), ())
        renderer.page(ROOM, f"room-{room}", ANN, shared=key, messages=HISTORY)
    assert 1 <= len(renderer.shared) <= 3


def test_development_never_shares(tmp_path: Path) -> None:
    renderer = Renderer(Look.of(Settings(development=True)))
    page(renderer)
    assert not renderer.shared


def test_translations_fill_in_and_escape_as_jinjas_own_gettext() -> None:
    ours = make_environment()
    theirs = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    russian = Languages().get("ru")
    assert russian is not None
    theirs.install_gettext_callables(  # type: ignore[attr-defined]
        russian.gettext, russian.ngettext, newstyle=True
    )
    sources = [
        "{% trans %}Send{% endtrans %} {{ _('Message') }} {{ gettext('Online') }}",
        "{% trans name='<b>' %}{{ name }} joined{% endtrans %}",
        "{% trans count=3, query='<i>' %}{{ count }} message with “{{ query }}”"
        "{% pluralize %}{{ count }} messages with “{{ query }}”{% endtrans %}",
        "{{ ngettext('%(num)s apple', '%(num)s apples', 5) }} {{ _('100%% <sure>') }}",
    ]
    for source in sources:
        expected = theirs.from_string(source).render()
        assert ours.from_string(source).render(language=russian) == expected


def test_urlencode_is_jinjas() -> None:
    quote = make_environment().filters["urlencode"]
    for value in ["lobby", "Общий", "a b/c?d", Markup("<x>"), {"q": "a b", "before": 3}, 7]:
        assert quote(value) == do_urlencode(value)
        assert quote(value) == do_urlencode(value)  # a second time, from what it kept


# Helpers


def count_renders(renderer: Renderer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One item per render of the history from now on (each render cuts every message's text
    into parts, the one naming @bob among them)."""
    rendered: list[str] = []
    parts = renderer.env.filters["parts"]

    def counted(value: str) -> Any:
        if value == HISTORY[1].text:
            rendered.append(value)
        return parts(value)

    monkeypatch.setitem(renderer.env.filters, "parts", counted)
    return rendered


@contextlib.contextmanager
def clocks(at: datetime) -> Iterator[None]:
    """Every clock the templates read (edit windows, `Today`) and the renderer's, at `at`."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return at.astimezone(tz or UTC)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text, "datetime", Clock)
        patch.setattr(template_functions, "datetime", Clock)
        patch.setattr(
            i18n, "datetime", types.SimpleNamespace(**{**vars(i18n.datetime), "datetime": Clock})
        )
        patch.setattr(sharing, "time", types.SimpleNamespace(time=at.timestamp))
        yield


def test_a_template_read_again_is_shared_anew(tmp_path: Path) -> None:
    (tmp_path / "room.html").write_text(
        '{% extends "default:room.html" %}{% block messages %}<p id=v>one</p>{% endblock %}'
    )
    renderer = Renderer(Look.of(Settings()), make_environment(tmp_path))
    assert one(page(renderer), "#v").get_text() == "one"
    (tmp_path / "room.html").write_text(
        '{% extends "default:room.html" %}{% block messages %}<p id=v>two</p>{% endblock %}'
    )
    renderer.env.cache.clear()  # type: ignore[union-attr]
    assert one(page(renderer), "#v").get_text() == "two"


def test_a_resync_for_everyone_is_rendered_once_and_as_it_would_be(renderer: Renderer) -> None:
    language = renderer.languages.default
    state = {"messages": HISTORY, "before": 0, "oob": "true"}
    key = Shared("messages", ("r", "en", "UTC", 0), tuple((m.id, m.version) for m in HISTORY))
    for present in ({"bob": "k-bob"}, {"bob": "k-bob"}, {}):  # @bob marked, then not
        alone = renderer.block(ROOM, "messages", "r", language=language, present=present, **state)
        shared = renderer.shared_block(ROOM, key, "r", language, present=present, **state)
        assert shared == alone
    assert len(renderer.shared) == 1  # the third replaced the first: bob has gone
