"""Parse HTML to assert on it (never substring luck)."""

from bs4 import BeautifulSoup, Tag


def parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def one(html: str, selector: str) -> Tag:
    found = parse(html).select(selector)
    assert len(found) == 1, f"expected exactly one {selector!r}, found {len(found)} in:\n{html}"
    return found[0]


def messages(html: str) -> list[tuple[int, str]]:
    """(N, text) of every message `<li>` in `html`, in order."""
    return [
        (int(str(li["data-n"])), li.select_one(".text").get_text())  # type: ignore[union-attr]
        for li in parse(html).select("#messages li[data-n]")
    ]


def first(html: str, selector: str) -> Tag:
    """The first element matching `selector` (a frame may carry several fragments)."""
    found = parse(html).select_one(selector)
    assert found is not None, f"no {selector!r} in:\n{html}"
    return found
