"""What `chat bench` measures: round trips, fan-out (flat out and paced), idle memory, a stall.

With several servers (one chat's processes), every room's pages are spread evenly over them,
so the first senders sit on every server; fan-outs then check that all pages saw one order.
"""

import asyncio
import contextlib
import select
import time
from dataclasses import replace
from typing import Any

import psutil

from chat.bench import order
from chat.bench.browsers import load_pages, open_browser
from chat.bench.crowd import Crowd, Progress, gather_crowd, percentile, settle
from chat.bench.options import Options
from chat.bench.usage import Usage

STUCK = 10.0  # seconds without a message reaching everyone: the server is not broadcasting
POLL_GONE = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


async def round_trip(options: Options, progress: Progress) -> dict[str, Any]:
    """One browser: send, wait for its own message to come back, repeat."""
    crowd = await gather_crowd(options, 1, f"{options.room}-rt", progress)
    back: asyncio.Future[int] | None = None

    def arrived(seq: int) -> None:
        if back is not None and not back.done():
            back.set_result(seq)

    crowd.complete, crowd.measuring = arrived, True
    browser, seq, started = crowd.browsers[0], 0, time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        while (elapsed := time.perf_counter() - started) < options.duration:
            seq += 1
            back = loop.create_future()
            browser.send(seq, options.size)
            await asyncio.wait_for(back, timeout=10)
            progress("round trips", int(elapsed), int(options.duration))
    except TimeoutError:
        return {"error": f"message {seq} never came back", "count": seq - 1}
    finally:
        crowd.close()
    return {
        "count": seq,
        "messages_per_s": seq / elapsed,
        "p50_ms": percentile(crowd.latencies, 50),
        "p99_ms": percentile(crowd.latencies, 99),
    }


async def fan_out(options: Options, progress: Progress, *, paced: bool) -> dict[str, Any]:
    """`clients` browsers in a room; some of them send, everyone receives everything."""
    crowd = await gather_crowd(options, options.clients, f"{options.room}-fan", progress)
    try:
        return await _drive(crowd, options, progress, paced=paced)
    finally:
        crowd.close()


async def _drive(
    crowd: Crowd, options: Options, progress: Progress, *, paced: bool, extra: float = 0.0
) -> dict[str, Any]:
    senders = crowd.browsers[: max(1, min(options.senders, len(crowd.browsers)))]
    duration = options.duration + extra
    window = asyncio.Semaphore(options.window)
    done_all = asyncio.Event()
    sent = finished = 0
    stopped = False

    def completed(seq: int) -> None:
        nonlocal finished
        finished += 1
        if not paced:
            window.release()
        if stopped and finished == sent:
            done_all.set()

    crowd.complete, crowd.measuring = completed, True
    usage = Usage(options.pids, options.engine_pids)
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration:
        if paced:
            await asyncio.sleep(max(0.0, started + sent / options.rate - time.perf_counter()))
        else:
            try:
                await asyncio.wait_for(window.acquire(), timeout=STUCK)
            except TimeoutError:
                return {"error": f"no message completed for {STUCK:.0f} s: not everyone receives"}
        sent += 1
        senders[sent % len(senders)].send(sent, options.size)
        progress("paced fan-out" if paced else "fan-out", int(elapsed), int(duration))
    stopped = True
    if finished == sent:
        done_all.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done_all.wait(), timeout=10)
    span = time.perf_counter() - started
    cpu = usage.shares()
    delivered = len(crowd.latencies)
    if not delivered:
        return {
            "error": "nothing was delivered: is the server refusing the messages (length, rate)?"
        }
    rooms = sorted({page.room_url for page in crowd.pages})
    stored = await asyncio.gather(*(asyncio.to_thread(order.stored_ids, url) for url in rooms))
    return {
        "clients": crowd.expected,
        "servers": len(rooms),
        "messages": sent,
        "deliveries": delivered,
        "missing": sent * crowd.expected - delivered,
        "messages_per_s": sent / span,
        "deliveries_per_s": delivered / span,
        "p50_ms": percentile(crowd.latencies, 50),
        "p99_ms": percentile(crowd.latencies, 99),
        "dropped_clients": crowd.dropped(),
        **order.figures(crowd.ids, crowd.seqs, sent, list(stored)),
        **({"languages": crowd.languages()} if options.languages else {}),
        **({"zones": crowd.zones()} if options.zones else {}),
        **cpu,
        **per_delivery(cpu, delivered),
    }


def per_delivery(cpu: dict[str, Any], delivered: int) -> dict[str, float]:
    """Server CPU per delivered message, in µs: what a delivery costs the server, whatever
    limited the run (the load tool often runs out of CPU first)."""
    if "server_cpu_s" not in cpu or not delivered:
        return {}
    return {"server_us_per_delivery": cpu["server_cpu_s"] / delivered * 1e6}


def rss(pids: list[int]) -> int:
    """The servers' resident memory, together."""
    return sum(int(psutil.Process(pid).memory_info().rss) for pid in pids)


async def idle_memory(options: Options, progress: Progress) -> dict[str, Any]:
    """Server memory per idle connection: RSS before and after `idle` open pages."""
    if not options.pids:
        return {"error": "needs --pid (the server's process id) to read its memory"}
    before = rss(options.pids)
    crowds: list[Crowd] = []
    for number, start in enumerate(range(0, options.idle, options.idle_room_size)):
        size = min(options.idle_room_size, options.idle - start)
        room = f"{options.room}-idle{number}"
        crowds.append(await gather_crowd(options, size, room, _quiet, settled=False))
        progress(f"{options.idle} idle connections", start + size, options.idle)
    await settle(crowds)
    after = rss(options.pids)
    reached = await _reach_all(crowds, options)
    held = sum(len(crowd.browsers) - crowd.dropped() for crowd in crowds)
    for crowd in crowds:
        crowd.close()
    return {
        "connections": options.idle,
        "held": held,
        "reached": reached,
        "server_rss_mb": after / 2**20,
        "bytes_per_connection": (after - before) / options.idle,
    }


async def _reach_all(crowds: list[Crowd], options: Options) -> int:
    """Send one message in each idle room; count the browsers that receive it (in a chat,
    all of them; an echo server returns it to its sender only)."""
    seq = 10**9
    for crowd in crowds:
        seq += 1
        crowd.measuring = True
        crowd.browsers[0].send(seq, options.size)
    deadline, heard, quiet_since = time.monotonic() + 10, -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 2:
        if all(sum(c.counts.values()) == c.expected for c in crowds):
            break
        if (now := sum(sum(c.counts.values()) for c in crowds)) != heard:
            heard, quiet_since = now, time.monotonic()  # still arriving: wait on
        await asyncio.sleep(0.1)
    return sum(sum(c.counts.values()) for c in crowds)


def _quiet(what: str, done: int, total: int) -> None:
    return None


async def stalled_reader(options: Options, progress: Progress) -> dict[str, Any]:
    """The same paced load twice: without, then with one more browser that never reads.
    Do the others notice (p99, missing messages)? Is the stalled one cut off, and when?"""
    load = replace(
        options,
        clients=options.stall_clients,
        rate=options.stall_rate,
        size=options.stall_size,
        duration=options.stall_duration,
    )
    baseline = await fan_out(load, progress, paced=True)
    room = f"{options.room}-stall"
    crowd = await gather_crowd(load, load.clients, room, progress)
    [stall_page] = await load_pages(
        [f"{options.url}/rooms/{room}"], 1, lambda: None, protocol=options.protocol
    )
    stalled = await open_browser(-1, stall_page, lambda *_: None, stalled=True)
    assert stalled.transport is not None
    gone = select.poll()
    gone.register(stalled.transport.underlying_transport.get_extra_info("socket"), POLL_GONE)
    before = rss(options.pids) if options.pids else 0
    peak, started, cut_off = before, time.monotonic(), None

    async def watch() -> None:
        nonlocal cut_off, peak
        while True:
            if cut_off is None and gone.poll(0):
                cut_off = time.monotonic() - started
            if options.pids:
                peak = max(peak, rss(options.pids))
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    try:
        result = await _drive(crowd, load, progress, paced=True)
    finally:
        watcher.cancel()
        crowd.close()
        stalled.close()
    result |= {"baseline_p99_ms": baseline.get("p99_ms"), "cut_off_s": cut_off}
    if "p99_ms" in result and "p99_ms" in baseline:
        result["p99_ratio"] = result["p99_ms"] / baseline["p99_ms"]
    if options.pids:
        result["server_growth_mb"] = (peak - before) / 2**20
    return result
