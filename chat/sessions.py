"""Sessions: one per page load, numbering that page's messages.

A page load costs nothing to keep: its session id is a signed token (room, public key, name,
browser, the last message the page shows). A session is written to the store when it is first
used, so it survives restarts and is shared by every process; unused pages simply expire. A
used session expires too once nobody has used it for `expiry` seconds (one that never stored
a message: after `ttl`), and its row is deleted.
"""

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from chat.errors import Forbidden
from chat.i18n import N_
from chat.limits import TokenBucket
from chat.store import SessionRecord, Store

_TAG = re.compile(r"b[0-9a-f]{24}")  # a browser's tag (pages of older releases kept its id)
EXPIRED = N_("This page's session has expired. Reload the page to keep chatting.")


def new_name() -> str:
    """A generated display name such as `user_k3x9qa42`."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "user_" + "".join(secrets.choice(alphabet) for _ in range(8))


@dataclass(eq=False, slots=True)
class Session:
    """A page load. `id` is secret (it authorises sending); `key` is the public author id."""

    id: str
    key: str
    room: str
    name: str
    browser: str = ""
    cursor: int = 0
    seq: int = 0
    connections: int = 0
    ever_connected: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    bucket: TokenBucket | None = None
    posting: asyncio.Lock | None = None  # held while one of its messages is stored
    unsure: int = 0  # a number whose storing failed, perhaps after the database committed it
    issued: float = 0.0  # Unix time its page was rendered: later changes reach it on connecting

    @property
    def tag(self) -> str:
        """Their browser's public tag in this room ("" for a client, or a page of an older
        release, whose session kept the browser's id itself: that never leaves the server)."""
        return self.browser if _TAG.fullmatch(self.browser) else ""

    @property
    def owner(self) -> str:
        """The public tag that makes messages theirs: their browser's in this room (pages), or
        this session's (JSON clients, which have no browser)."""
        return self.tag or "k" + self.key

    def record(self) -> SessionRecord:
        return SessionRecord(key=self.key, room=self.room, name=self.name, browser=self.browser)


class Sessions:
    """Issues and verifies session ids; keeps used sessions in a bounded cache over the store."""

    def __init__(
        self, store: Store, secret: str, ttl: float, limit: int, expiry: float = 7 * 86400
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.expiry = expiry
        self.limit = limit
        self.signer = URLSafeTimedSerializer(secret, salt="chat.session")
        self.browsers = Signer(secret, salt="chat.browser")
        self._tags = secret.encode()
        self._cache: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def new_browser(self) -> str:
        """The signed id a browser keeps in a cookie: who it is across reloads."""
        return self.browsers.sign(secrets.token_urlsafe(16)).decode()

    def browser_tag(self, cookie: str | None, room: str) -> str:
        """The public tag of the browser whose cookie this is, in `room` ("" if the cookie is
        not one we signed). Keyed and per room: it never reveals the cookie, and the same
        browser's messages in two rooms do not carry the same tag."""
        try:
            browser = self.browsers.unsign(cookie or "")
        except BadSignature:
            return ""
        mac = hmac.new(self._tags, room.encode() + b"\0" + browser, hashlib.sha256)
        return "b" + mac.hexdigest()[:24]

    def issue(self, room: str, name: str, browser: str, cursor: int) -> Session:
        """A new page load: a signed id and nothing stored yet."""
        key = secrets.token_hex(6)
        token = self.signer.dumps({"r": room, "k": key, "n": name, "b": browser, "c": cursor})
        return Session(
            id=token,
            key=key,
            room=room,
            name=name,
            browser=browser,
            cursor=cursor,
            issued=time.time(),
        )

    async def get(self, token: str | None, room: str) -> Session:
        """The session `token` of `room`, or `Forbidden` (forged, another room's, or expired)."""
        try:
            payload, issued = self.signer.loads(token or "", return_timestamp=True)
        except BadSignature:
            raise Forbidden(EXPIRED, code="unknown_session") from None
        if not isinstance(payload, dict) or payload.get("r") != room:
            raise Forbidden(EXPIRED, code="unknown_session")
        session = self._cache.get(payload["k"])
        if session is None or not session.connections:
            # Not connected here: another process may have moved it on since (name, numbering).
            session = await self._load(token or "", payload, issued.timestamp(), session)
        self.touch(session)
        return session

    async def _load(
        self, token: str, payload: dict[str, str], issued: float, cached: Session | None
    ) -> Session:
        record = await self.store.load_session(payload["k"])
        session = cached or Session(
            id=token,
            key=payload["k"],
            room=payload["r"],
            name=payload["n"],
            browser=payload["b"],
            cursor=int(payload["c"]),
            issued=issued,
        )
        now = time.time()
        idle_limit = self.expiry if record is None or record.seq else min(self.ttl, self.expiry)
        if record is not None and now - record.seen_at > idle_limit:
            self._cache.pop(session.key, None)
            raise Forbidden(EXPIRED, code="expired_session")
        if record is not None:
            session.name, session.ever_connected = record.name, True
            session.seq = max(session.seq, record.seq)  # a post may be storing one right now
            await self.store.touch_sessions([session.key])
        elif now - issued > self.ttl or (cached is not None and cached.ever_connected):
            self._cache.pop(session.key, None)  # unused too long, or used and since deleted
            raise Forbidden(EXPIRED, code="expired_session")
        else:
            await self.store.save_session(session.record())
        self._cache[session.key] = session
        self._evict()
        return session

    async def left(self, session: Session) -> None:
        """Its last connection closed: idle time counts from now."""
        self.touch(session)
        await self.store.touch_sessions([session.key])

    async def upkeep(self, connected: list[str]) -> int:
        """Mark connected sessions seen; delete expired ones; return how many were deleted."""
        if connected:
            await self.store.touch_sessions(connected)
        now = time.time()
        return await self.store.prune_sessions(
            idle_before=now - self.expiry, empty_before=now - min(self.ttl, self.expiry)
        )

    def touch(self, session: Session) -> None:
        session.last_seen = time.monotonic()
        if session.key in self._cache:
            self._cache.move_to_end(session.key)

    def _evict(self) -> None:
        """Forget idle sessions (they reload from the store): the oldest, past the limit or TTL.
        A connected one stays, moved among the newest, so no sweep passes it again soon."""
        deadline = time.monotonic() - self.ttl
        for _ in range(len(self._cache)):
            key, session = next(iter(self._cache.items()))
            if len(self._cache) <= self.limit and session.last_seen > deadline:
                break
            if session.connections:
                self._cache.move_to_end(key)
            else:
                del self._cache[key]
