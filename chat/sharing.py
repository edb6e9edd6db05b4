"""Blocks of a page that every reader of its variant sees the same: rendered once, reused by
the next pages while they would show the same."""

import math
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

SHARED_BYTES = 8_000_000  # memory for shared blocks, in all: a room's full history takes ~1 MB
# While a shared block renders: the times (Unix) at which its clocks will show something else.
_changes: ContextVar[list[float] | None] = ContextVar("changes", default=None)
_ABSENT = object()


def shows_other_at(moment: float) -> None:
    """What renders now will show something else at `moment` (a Unix time): `Today` becomes
    `Yesterday`, a message leaves its edit window. Only a shared block's render listens."""
    if (changes := _changes.get()) is not None:
        changes.append(moment)


@dataclass(frozen=True, slots=True)
class Shared:
    """A block of a page that every reader of its variant sees the same (it renders with
    `viewer` as `everyone`, as pushes do): rendered once, then reused by the next pages of the
    same `key` (room and variant) while they show the same `state` (their messages' ids and
    versions, say), the same people of those it names, and the same clocks."""

    block: str
    key: Hashable
    state: Hashable


class Named(Mapping[str, Any]):
    """`present` as a shared block sees it, noting whom it looked up: a later page may reuse
    the block while those people are here (or not) as they were. A block that goes through
    all of them (`for`, `| length`) depends on everyone."""

    __slots__ = ("_everyone", "_looked", "_people")

    def __init__(self, people: dict[str, Any]) -> None:
        self._people = people
        self._looked: dict[str, Any] = {}
        self._everyone = False

    def __getitem__(self, name: str) -> Any:
        found = self._people.get(name, _ABSENT)
        self._looked[name] = found
        if found is _ABSENT:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        found = self._people.get(name, _ABSENT)  # type: ignore[call-overload]
        self._looked[name] = found  # type: ignore[index]
        return found is not _ABSENT

    def __iter__(self) -> Iterator[str]:
        self._everyone = True
        return iter(self._people)

    def __len__(self) -> int:
        self._everyone = True
        return len(self._people)

    def seen(self) -> tuple[dict[str, Any], bool]:
        """Whom it looked up and what it found (everyone, if it looked at everyone)."""
        if self._everyone:
            return dict(self._people), True
        return self._looked, False


@dataclass(frozen=True, slots=True)
class Kept:
    """A shared block as rendered (and encoded), the state it shows, whom of `present` it
    looked up and what it found (or all of `present`), and when its clocks will first show
    something else (a Unix time)."""

    html: str
    encoded: bytes
    state: Hashable
    looked: dict[str, Any]
    everyone: bool
    until: float

    @property
    def size(self) -> int:
        """Bytes it holds (a text with an emoji takes four bytes a character)."""
        return sys.getsizeof(self.html) + len(self.encoded)

    def fits(self, present: dict[str, Any], now: float) -> bool:
        """Does a page with these people here, now, show the same?"""
        if now >= self.until:
            return False
        if self.everyone:
            return present == self.looked
        return all(present.get(name, _ABSENT) == was for name, was in self.looked.items())


class SharedBlocks:
    """The shared blocks kept, least recently used forgotten first past `SHARED_BYTES`."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        self._size = 0  # bytes held

    def __len__(self) -> int:
        return len(self._kept)

    def blocks(self) -> list[Kept]:
        return list(self._kept.values())

    def clear(self) -> None:
        self._kept.clear()
        self._size = 0

    def kept(
        self,
        key: Hashable,
        state: Hashable,
        present: dict[str, Any],
        render: Callable[[Named], str],
    ) -> Kept:
        """The block kept for `key` if a page with this state and these people shows it now;
        else `render` it (given a `Named` in place of `present`), noting whom it looked up and
        when it will show something else, and keep it in place of what `key` had."""
        kept = self._kept.get(key)
        if kept is not None and kept.state == state and kept.fits(present, time.time()):
            self._kept.move_to_end(key)
            return kept
        named, changes = Named(present), list[float]()
        token = _changes.set(changes)
        try:
            html = render(named)
        finally:
            _changes.reset(token)
        kept = Kept(html, html.encode(), state, *named.seen(), min(changes, default=math.inf))
        if (former := self._kept.pop(key, None)) is not None:
            self._size -= former.size
        self._kept[key] = kept
        self._size += kept.size
        while self._size > SHARED_BYTES and len(self._kept) > 1:
            self._size -= self._kept.popitem(last=False)[1].size
        return kept
