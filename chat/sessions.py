"""Sessions: one per page load, numbering that page's messages; they expire when unused."""

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from chat.errors import Forbidden


def new_name() -> str:
    """A generated display name such as `user_k3x9qa42`."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "user_" + "".join(secrets.choice(alphabet) for _ in range(8))


@dataclass(eq=False, slots=True)
class Session:
    """A page load. `id` is secret (it authorises sending); `key` is the public author id."""

    room: str
    name: str
    browser: str = ""
    id: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    key: str = field(default_factory=lambda: secrets.token_hex(6))
    seq: int = 0
    cursor: int = 0
    connections: int = 0
    ever_connected: bool = False
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """All live sessions of this process, bounded in number and in idle time."""

    def __init__(self, ttl: float, limit: int) -> None:
        self.ttl = ttl
        self.limit = limit
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_id)

    def create(self, room: str, name: str, cursor: int, browser: str = "") -> Session:
        self.expire()
        session = Session(room=room, name=name, cursor=cursor, browser=browser)
        self._by_id[session.id] = session
        while len(self._by_id) > self.limit:
            oldest = next(iter(self._by_id.values()))
            if oldest.connections:
                break
            del self._by_id[oldest.id]
        return session

    def get(self, session_id: str | None, room: str) -> Session:
        """The session `session_id` of `room`, or `Forbidden` (unknown, expired or forged)."""
        session = self._by_id.get(session_id or "")
        if session is None or session.room != room:
            raise Forbidden(
                "This page's session has expired. Reload the page to keep chatting.",
                code="unknown_session",
            )
        self.touch(session)
        return session

    def touch(self, session: Session) -> None:
        session.last_seen = time.monotonic()
        self._by_id.move_to_end(session.id)

    def expire(self) -> None:
        """Forget sessions nobody has used for `ttl` seconds (oldest are at the front)."""
        deadline = time.monotonic() - self.ttl
        for session in list(self._by_id.values()):
            if session.last_seen > deadline:
                break
            if not session.connections:
                del self._by_id[session.id]
