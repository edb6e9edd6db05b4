"""Joining and coming back: pages joining a room at once, and every page back after a restart.

A page is in when it has loaded, opened its socket and taken what the server sends on
connecting (our catch-up: history, members, status); a server that sends nothing on
connecting has it in when its socket opens.
"""

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

from chat.bench.browsers import Browser, open_browser
from chat.bench.crowd import Crowd, Progress, gather_crowd
from chat.bench.options import Options
from chat.bench.usage import Usage

QUIET = 0.5  # seconds without a page's first frame: the server sends nothing more on connecting
RETRY = 0.1  # seconds, at most, between a page's attempts to reconnect
_rooms = itertools.count(1)


async def joining(options: Options, progress: Progress) -> dict[str, Any]:
    """`clients` pages join a room of `history` messages, all at once, as fast as the server
    lets them (the load tool opens 64 sockets at a time, loads 8 pages at a time per server).
    """
    room = f"{options.room}-join{next(_rooms)}"
    await fill(options, room, options.history)
    usage = Usage(options.pids, options.engine_pids)
    started = perf_counter_ns()
    crowd = await gather_crowd(options, options.clients, room, progress, settled=False)
    opened = perf_counter_ns()
    firsts = await _first_frames(crowd.browsers)
    done = max([opened, *firsts])
    cpu = usage.shares()
    crowd.close()
    seconds = (done - started) / 1e9
    found = {
        "pages": len(crowd.browsers),
        "join_s": seconds,
        "joins_per_s": len(crowd.browsers) / seconds,
        "caught_up": len(firsts),
        **cpu,
    }
    if "server_cpu_s" in cpu:
        found["server_ms_per_join"] = cpu["server_cpu_s"] / len(crowd.browsers) * 1e3
    return found


async def _first_frames(browsers: list[Browser]) -> list[int]:
    """When each browser got its first frame, waiting while first frames keep arriving."""
    before, quiet_since = -1, time.monotonic()
    while True:
        firsts = [browser.first for browser in browsers if browser.first]
        if len(firsts) == len(browsers):
            return firsts
        if len(firsts) != before:
            before, quiet_since = len(firsts), time.monotonic()
        elif time.monotonic() - quiet_since > QUIET:
            return firsts
        await asyncio.sleep(0.02)


async def fill(options: Options, room: str, count: int) -> None:
    """Post `count` messages to `room` from one page, each after the last came back."""
    if count <= 0:
        return
    crowd = await gather_crowd(options, 1, room, _quiet)
    back: asyncio.Queue[int] = asyncio.Queue()
    crowd.complete, crowd.measuring = back.put_nowait, True
    try:
        for seq in range(1, count + 1):
            crowd.browsers[0].send(seq, options.size)
            await asyncio.wait_for(back.get(), timeout=10)
    finally:
        crowd.close()


async def restart(
    options: Options, progress: Progress, restart_server: Callable[[], Awaitable[None]]
) -> dict[str, Any]:
    """`clients` pages open in a room of `history` messages; the server restarts. Every page
    reconnects as soon as the server answers (a harsher herd than htmx's jittered retries)
    and must get the room's messages back, each exactly once."""
    room = f"{options.room}-restart{next(_rooms)}"
    await fill(options, room, options.history)
    crowd = await gather_crowd(options, options.clients, room, progress)
    resynced = asyncio.Event()
    complete = 0

    def completed(seq: int) -> None:
        nonlocal complete
        complete += 1
        if complete == options.history:
            resynced.set()

    crowd.complete, crowd.measuring = completed, True
    started = perf_counter_ns()
    await restart_server()
    progress("restarted", 0, len(crowd.browsers))
    back = await rejoin(crowd, progress)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(resynced.wait(), timeout=60)
    finished = perf_counter_ns()
    crowd.close()
    expected = set(range(1, options.history + 1))
    exact = sum(len(seqs) == len(expected) and set(seqs) == expected for seqs in crowd.seqs)
    return {
        "pages": len(crowd.browsers),
        "messages": options.history,
        "pages_resynced": exact,
        "missing": sum(len(expected - set(seqs)) for seqs in crowd.seqs),
        "duplicates": sum(len(seqs) - len(set(seqs)) for seqs in crowd.seqs),
        "back_s": (finished - back) / 1e9 if back else None,
        "since_restart_s": (finished - started) / 1e9,
    }


async def rejoin(crowd: Crowd, progress: Progress) -> int:
    """Reopen every browser's socket once it has closed, retrying until the server takes it;
    when the server first took one (perf_counter_ns), 0 if it never did."""
    gate = asyncio.Semaphore(64)
    first = 0
    done = 0

    async def one(browser: Browser) -> None:
        nonlocal first, done
        await asyncio.wait_for(browser.closed.wait(), timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                async with gate:
                    again = await open_browser(browser.index, browser.page, crowd.received)
            except Exception:  # refused, reset, or a handshake the server failed: retry
                await asyncio.sleep(random.uniform(0, RETRY))
                continue
            first = first or perf_counter_ns()
            crowd.browsers[browser.index] = again
            done += 1
            progress("reconnecting", done, len(crowd.browsers))
            return

    await asyncio.gather(*(one(browser) for browser in list(crowd.browsers)))
    return first


def _quiet(what: str, done: int, total: int) -> None:
    return None
