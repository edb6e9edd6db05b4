"""A message shows exactly what was typed: web addresses become our links and nothing else
becomes markup, whatever the text (hypothesis tries the nasty ones)."""

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from bs4 import BeautifulSoup
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chat.config import Settings
from chat.context import Look
from chat.formats import ROOM
from chat.inputs import message_text
from chat.rendering import Renderer
from chat.store import Message
from chat.text import parts

RENDERER = Renderer(Look.of(Settings()))
LINK_ATTRIBUTES = {"href", "target", "rel"}
PIECES = st.sampled_from(
    [
        "https://example.com/a?b=1&c=2",
        "http://пример.рф/путь",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "javascript:alert(1)",
        "JAVASCRIPT://%0aalert(1)",
        "data:text/html,<b>",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "&amp; &lt;",
        "{{ 7*7 }}",
        "https://",
        "https://x.y/\"onmouseover='a'",
        "(see https://example.com).",
        "@ann",
        " ",
        "\n",
        "\t",
        "…",
    ]
)
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=8).map("".join)


def shown(text: str) -> BeautifulSoup:
    message = Message(
        room="r", author="a", author_key="k", n=1, text=text, created_at=datetime.now(UTC), id=1
    )
    html = RENDERER.block(ROOM, "message", "r", m=message)
    return BeautifulSoup(html, "html.parser").select_one(".text")


def rendered_text(text: str) -> str:
    """The `.text` span of a rendered message, as the server wrote it (not re-serialised)."""
    message = Message(
        room="r", author="a", author_key="k", n=1, text=text, created_at=datetime.now(UTC), id=1
    )
    html = RENDERER.block(ROOM, "message", "r", m=message)
    return html.split('<span class="text">', 1)[1].split("</span>", 1)[0]  # holds no span


def text_of(html: str) -> str:
    """The text a browser shows for `html` (Python's own parser: BeautifulSoup's tree turns
    a tab between two elements into a space)."""
    found: list[str] = []
    reader = HTMLParser(convert_charrefs=True)
    reader.handle_data = found.append  # type: ignore[method-assign]
    reader.feed(html)
    reader.close()
    return "".join(found)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example("https://a.b/x\thttps://a.b/x")  # a tab between two links is kept
def test_the_visible_text_is_what_was_typed_and_only_our_links_are_markup(raw: str) -> None:
    try:
        text = message_text(raw, 2000)
    except Exception:  # refused input never reaches a template
        return
    span = shown(text)
    assert text_of(rendered_text(text)) == text
    for element in span.find_all(True):
        assert element.name == "a", element
        assert set(element.attrs) == LINK_ATTRIBUTES, element
        assert element["href"].lower().startswith(("http://", "https://")), element
        assert element["href"] == element.get_text()
        assert element["rel"] == ["noopener", "noreferrer", "nofollow", "ugc"]
        assert element["target"] == "_blank"


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("see https://example.com.", ["https://example.com"]),
        ("(https://example.com/a)", ["https://example.com/a"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)!", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("two: http://a.b/1 and https://c.d/2?x=1&y=2", ["http://a.b/1", "https://c.d/2?x=1&y=2"]),
        ("ftp://a.b javascript:alert(1) www.example.com", []),
        ("«https://пример.рф/путь»", ["https://пример.рф/путь"]),
        ("https://", []),
    ],
)
def test_web_addresses_and_only_they_become_links(text: str, links: list[str]) -> None:
    assert [p.url for p in parts(text) if p.url] == links
    assert [a["href"] for a in shown(text).select("a")] == links
    assert "".join(p.text for p in parts(text)) == text


def test_an_at_name_of_someone_here_is_marked_with_their_key() -> None:
    message = Message(
        room="r",
        author="b",
        author_key="kb",
        n=1,
        text="@Ann and @nobody, mail me at x@y.z (@Клава)",
        created_at=datetime.now(UTC),
        id=1,
    )
    html = RENDERER.block(ROOM, "message", "r", m=message, present={"ann": "ka", "клава": "kk"})
    marks = BeautifulSoup(html, "html.parser").select(".text mark.mention")
    assert [(m.get_text(), m["data-mention"]) for m in marks] == [("@Ann", "ka"), ("@Клава", "kk")]
    assert text_of(html.split('class="text">')[1].split("</span>")[0]) == message.text
