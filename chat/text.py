"""What a message's text is made of, for templates to show: plain runs and web addresses.

Only http and https addresses become links; everything else stays text, escaped by the
template like any other text. The parts joined again are exactly the text typed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from chat.store.search import fold, spans

# An address runs to the next space or angle bracket or quote; trailing punctuation is the
# sentence's, not the address's ("see https://example.com.").
_ADDRESS = re.compile(r"\bhttps?://[^\s<>\"'\u0000-\u001f\u007f]+", re.IGNORECASE)
_TRAILING = ".,:;!?…»\u201d\u2019"  # and closing quotes
MAX_LINK = 2000  # longer "addresses" stay text
_MENTION = re.compile(r"(?<![^\s(«\"'])@([\w.-]{1,32}\w|\w)")


@dataclass(frozen=True, slots=True)
class Part:
    """A run of a message's text; `url` is set when the run is a web address, `mention` (the
    name, case-folded) when it is `@name`."""

    text: str
    url: str = ""
    mention: str = ""


def parts(text: str) -> list[Part]:
    """`text` cut into plain runs, web addresses and `@name`s, in order."""
    found: list[Part] = []
    start = 0
    for match in _ADDRESS.finditer(text):
        address = _trimmed(match.group())
        end = match.start() + len(address)
        if len(address) > MAX_LINK or address.partition("://")[2] == "":
            continue
        if match.start() > start:
            found += _mentions(text[start : match.start()])
        found.append(Part(address, url=address))
        start = end
    if start < len(text):
        found += _mentions(text[start:])
    return found


def _mentions(text: str) -> list[Part]:
    """A plain run cut at each `@name` (after a space or at the start)."""
    found: list[Part] = []
    start = 0
    for match in _MENTION.finditer(text):
        if match.start() > start:
            found.append(Part(text[start : match.start()]))
        found.append(Part(match.group(), mention=match.group(1).casefold()))
        start = match.end()
    if start < len(text) or not found:
        found.append(Part(text[start:]))
    return found


def _trimmed(address: str) -> str:
    """Without the punctuation that ends the sentence around it; a closing bracket stays when
    the address opened one (Wikipedia's `Foo_(bar)`)."""
    while address:
        last = address[-1]
        unopened = last == ")" and address.count("(") < address.count(")")
        if last not in _TRAILING and not unopened:
            break
        address = address[:-1]
    return address


@dataclass(frozen=True, slots=True)
class Found:
    """A run of a search result's text; `found` when it is one of the words searched for."""

    text: str
    found: bool = False


def found(text: str, words: list[str]) -> list[Found]:
    """`text` cut at each word of `words`, found as search finds them (`chat.store.search`)."""
    wanted = set(words)
    runs: list[Found] = []
    start = 0
    for begin, end in spans(text):
        if fold(text[begin:end]) in wanted:
            if begin > start:
                runs.append(Found(text[start:begin]))
            runs.append(Found(text[begin:end], found=True))
            start = end
    if start < len(text) or not runs:
        runs.append(Found(text[start:]))
    return runs


def within(moment: datetime, seconds: float) -> bool:
    """Is `moment` at most `seconds` ago?"""
    return (datetime.now(UTC) - moment).total_seconds() <= seconds


class Said(Protocol):
    author_key: str
    created_at: datetime


GROUPED = 300  # seconds: a message this soon after the same person's last one joins its group


def continuing(message: Said, previous: Any, where: tzinfo) -> bool:
    """Does `message` go on from `previous` (same person, same day, a few minutes later)? Its
    author line can then be left out."""
    if previous is None or previous.author_key != message.author_key:
        return False
    gap: float = (message.created_at - previous.created_at).total_seconds()
    return 0 <= gap < GROUPED and not new_day(message, previous, where)


def new_day(message: Said, previous: Any, where: tzinfo) -> bool:
    """Does a new day start at `message` on the clocks of `where`? (Unknown before: yes.)"""
    if previous is None:
        return True
    before: datetime = previous.created_at
    return before.astimezone(where).date() != message.created_at.astimezone(where).date()
