"""Browsers in one room: who received which message, in what order and how late."""

import asyncio
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chat.bench.browsers import Browser, Page, load_pages, open_browser
from chat.bench.options import Options

Progress = Callable[[str, int, int], None]  # (what, done, total)


def percentile(samples: Sequence[int], q: float) -> float:
    """The q-th percentile of nanosecond samples, in milliseconds."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1e6


@dataclass
class Crowd:
    """Browsers in one room, counting who received which message, how late and in what order."""

    pages: list[Page]
    browsers: list[Browser] = field(default_factory=list)
    latencies: "array[int]" = field(default_factory=lambda: array("q"))
    counts: Counter[int] = field(default_factory=Counter)
    ids: "list[array[int]]" = field(default_factory=list)  # per browser, message ids as received
    seqs: "list[array[int]]" = field(default_factory=list)  # per browser, markers as received
    complete: Callable[[int], None] = lambda seq: None
    expected: int = 0
    measuring: bool = False

    def __post_init__(self) -> None:
        self.ids = [array("q") for _ in self.pages]
        self.seqs = [array("q") for _ in self.pages]

    def received(self, index: int, seq: int, latency: int, message_id: int) -> None:
        if not self.measuring:
            return
        self.latencies.append(latency)
        self.ids[index].append(message_id)
        self.seqs[index].append(seq)
        self.counts[seq] += 1
        if self.counts[seq] == self.expected:
            self.complete(seq)

    async def open(self, progress: Progress, what: str) -> None:
        gate = asyncio.Semaphore(64)
        done = 0

        async def one(index: int, page: Page) -> Browser:
            nonlocal done
            async with gate:
                browser = await open_browser(index, page, self.received)
            done += 1
            progress(what, done, len(self.pages))
            return browser

        self.browsers = list(await asyncio.gather(*(one(i, p) for i, p in enumerate(self.pages))))
        self.expected = len(self.browsers)

    def close(self) -> None:
        for browser in self.browsers:
            browser.close()

    def dropped(self) -> int:
        return sum(b.closed.is_set() for b in self.browsers)

    def languages(self) -> dict[str, dict[str, int]]:
        """Per language asked for: pages, pages that came in it, and deliveries to them
        (counted from what each page kept, after the run: nothing per delivery)."""
        return self._per(lambda page: (page.language, page.served))

    def zones(self) -> dict[str, dict[str, int]]:
        """Per time zone asked for: pages, pages that came in it, and deliveries to them."""
        return self._per(lambda page: (page.zone, page.served_zone))

    def _per(self, asked: Callable[[Page], tuple[str, str]]) -> dict[str, dict[str, int]]:
        """Pages, pages served what they asked for, and deliveries, per `asked(page)[0]`."""
        found: dict[str, dict[str, int]] = {}
        for page, seqs in zip(self.pages, self.seqs, strict=True):
            wanted, served = asked(page)
            each = found.setdefault(wanted, {"pages": 0, "served": 0, "deliveries": 0})
            each["pages"] += 1
            each["served"] += served.lower() == wanted.lower()
            each["deliveries"] += len(seqs)
        return found


async def gather_crowd(
    options: Options, count: int, room: str, progress: Progress, *, settled: bool = True
) -> Crowd:
    """`count` browsers in `room`, their pages spread evenly over the servers."""
    loaded = 0

    def on_loaded() -> None:
        nonlocal loaded
        loaded += 1
        progress(f"loading {count} pages", loaded, count)

    urls = [f"{url}/rooms/{room}" for url in options.urls]
    crowd = Crowd(
        await load_pages(urls, count, on_loaded, options.languages, options.zones, options.protocol)
    )
    await crowd.open(progress, f"opening {count} sockets")
    if settled:
        await settle([crowd])
    return crowd


async def settle(crowds: list[Crowd], quiet: float = 0.5, limit: float = 120) -> None:
    """Wait until the join notices stop arriving (nobody has sent anything yet)."""
    deadline = time.monotonic() + limit
    before = -1
    while time.monotonic() < deadline:
        now = sum(b.frames for crowd in crowds for b in crowd.browsers)
        if now == before:
            return
        before = now
        await asyncio.sleep(quiet)
