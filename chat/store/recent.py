"""A room's latest messages, kept between reads while the database says they are unchanged.

Pages and sockets joining a room read its latest messages each time; building them from rows
costs far more than asking the database whether they changed. A room's messages are never
removed, its ids grow in the order they are stored (SQLite has one writer; PostgreSQL takes
the room's lock) and every edit, delete or reaction adds one to a message's `version`: so the
count, the first and last ids and the sums of the ids and of the versions of the latest rows
say whether they are still the ones kept. The state is read from the database every time, so
a change made by any process is seen at once.
"""

from collections import OrderedDict
from collections.abc import Hashable

from chat.store.base import Message

KEPT = 5_000  # messages kept, in all rooms together (a room's page of history is ~100)


class Recent:
    """The latest messages of the rooms read lately, least recently read forgotten first."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._rooms: OrderedDict[tuple[str, int], tuple[Hashable, list[Message]]] = OrderedDict()
        self._size = 0

    def get(self, room: str, limit: int, state: Hashable) -> list[Message] | None:
        """The messages read when the room's state was `state`, if it still is."""
        found = self._rooms.get((room, limit))
        if found is None or found[0] != state:
            return None
        self._rooms.move_to_end((room, limit))
        return list(found[1])

    def put(self, room: str, limit: int, state: Hashable, messages: list[Message]) -> None:
        self.forget(room, limit)
        self._rooms[(room, limit)] = (state, list(messages))
        self._size += len(messages)
        while self._size > self.kept and len(self._rooms) > 1:
            self._size -= len(self._rooms.popitem(last=False)[1][1])

    def forget(self, room: str, limit: int) -> None:
        if (former := self._rooms.pop((room, limit), None)) is not None:
            self._size -= len(former[1])
