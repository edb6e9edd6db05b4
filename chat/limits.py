"""Limits: token buckets (per session, connection, person, address); the open-files limit."""

import resource
import time
from collections import OrderedDict

from chat.errors import ChatError
from chat.i18n import N_


class RateLimited(ChatError):
    """More messages than the bucket allows: the person is asked to slow down."""

    status = 429
    code = "rate_limited"


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each frame or message takes one."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> None:
        """Take a token or raise `RateLimited` saying how fast one may go."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            raise RateLimited(
                N_(
                    "Slow down: at most {rate} messages a second (bursts of {burst}). "
                    "Wait a moment and send again."
                ),
                rate=self.rate,
                burst=self.burst,
            )
        self.tokens -= 1


class Buckets:
    """A token bucket per key (a person, an address), the most recently used `kept` of them."""

    def __init__(self, rate: float, burst: int, kept: int = 10_000) -> None:
        self.rate, self.burst, self.kept = rate, burst, kept
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            if len(self._buckets) > self.kept:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        bucket.take()


def raise_open_files_limit() -> None:
    """Each connection is a file descriptor: allow as many as the system lets this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
