"""The benchmark's peers run, and `chat bench` drives them: FastHTML's documented WebSocket chat
(htmx's frames) and a python-socketio chat (`--protocol socketio`, `chat/bench/socketio.py`)."""

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chat.bench.socketio import SocketIOBrowser, open_socketio, socketio_page
from tests.servers import free_port, http_ok, wait_until
from tests.terminals import CHAT

SMALL = [  # a small room, briefly: 10 pages, 3 of them sending
    "--scenarios=roundtrip,fanout,paced",
    "--clients=10",
    "--senders=3",
    "--duration=1",
    "--rate=20",
]
ROOT = Path(__file__).resolve().parents[1]
UVICORN = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
GONE = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


@contextmanager
def peer(app: str, workdir: Path, **env: str) -> Iterator[tuple[str, int]]:
    """`app` (tests.bench.MODULE:app) under uvicorn on a free port: its URL and process id."""
    port = free_port()
    log_path = workdir / f"{app.replace(':', '-')}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*UVICORN, "--port", str(port), app],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: http_ok(f"{url}/rooms/ready"), what=f"{app} ({log_path})")
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(15)


def bench(url: str, pid: int, out: Path, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        [CHAT, "bench", f"--url={url}", f"--pid={pid}", f"--json={out}", *SMALL, *extra],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(out.read_text())["results"]
    return found


def assert_everything_delivered(found: dict[str, Any]) -> None:
    assert set(found) == {"roundtrip", "fanout", "paced"}
    assert found["roundtrip"]["count"] > 0 and found["roundtrip"]["p99_ms"] > 0
    for scenario in ("fanout", "paced"):
        figures = found[scenario]
        assert figures["clients"] == 10, scenario
        assert figures["deliveries"] == figures["messages"] * figures["clients"] > 0, scenario
        assert figures["missing"] == figures["dropped_clients"] == 0, scenario


def test_bench_drives_the_fasthtml_peer_and_every_message_arrives(tmp_path: Path) -> None:
    with peer("tests.bench.fasthtml_peer:app", tmp_path) as (url, pid):
        found = bench(url, pid, tmp_path / "fasthtml.json")
    assert_everything_delivered(found)


def test_bench_drives_the_socketio_peer_and_every_message_arrives(tmp_path: Path) -> None:
    with peer("tests.bench.socketio_peer:app", tmp_path) as (url, pid):
        found = bench(url, pid, tmp_path / "socketio.json", "--protocol=socketio")
    assert_everything_delivered(found)


def test_a_socketio_client_answers_pings_and_stays_while_a_stalled_one_is_cut_off(
    tmp_path: Path,
) -> None:
    """With a heartbeat of 0.5 s (and 0.5 s to answer), a client that answers each PING stays
    past several of them and still gets the room's messages; one that stops reading
    (so never answers) is cut off by the server."""
    heartbeat = {"PEER_PING_INTERVAL": "0.5", "PEER_PING_TIMEOUT": "0.5"}
    with peer("tests.bench.socketio_peer:app", tmp_path, **heartbeat) as (url, _):
        asyncio.run(_heartbeat(f"{url}/rooms/heartbeat"))


async def _heartbeat(room_url: str) -> None:
    page = socketio_page(room_url)
    heard: list[tuple[int, int]] = []
    reader = await open_socketio(0, page, lambda index, seq, *_: heard.append((index, seq)))
    stalled = await open_socketio(1, page, lambda *_: None, stalled=True)
    browsers: list[SocketIOBrowser] = [reader, stalled]
    try:
        assert stalled.transport is not None
        gone = select.poll()
        gone.register(stalled.transport.underlying_transport.get_extra_info("socket"), GONE)
        frames = reader.frames
        await asyncio.sleep(2.5)  # five heartbeats
        assert not reader.closed.is_set()
        assert reader.frames - frames >= 3  # the PINGs it answered
        reader.send(1, 10)
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard == [(0, 1)]
        for _ in range(300):  # the server closes it after its close timeout
            if gone.poll(0):
                break
            await asyncio.sleep(0.1)
        assert gone.poll(0), "the stalled client was never cut off"
    finally:
        for browser in browsers:
            browser.close()
        await asyncio.gather(*(browser.closed.wait() for browser in browsers))
