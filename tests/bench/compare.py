"""Our chat against the floor of its stack, a naive broadcast server and the peers people would
pick instead (FastHTML's WebSocket chat, python-socketio), in one run.

    python -m tests.bench.compare            print the targets, figures and ratios
    python -m tests.bench.compare --write    also update the README tables, .docs/bench.png/json

Each server starts fresh on a free port: a bare FastAPI echo (tests/bench/echo.py, the floor),
a tutorial broadcast server (tests/bench/naive.py, uvicorn's defaults, as tutorials run it),
FastHTML's documented chat (tests/bench/fasthtml_peer.py), python-socketio's
(tests/bench/socketio_peer.py), and ours (`chat serve`, our defaults; only the abuse limits are
lifted, since the load comes fast from one machine). The echo and the peers run on our uvicorn
settings (no per-message compression, which would cost them a compression per recipient).
`chat bench` drives them all; each scenario's rounds take turns over the servers, so a noisy
moment of the machine hits all alike, and the median round counts.
Not a test: machines are noisy, so nothing here passes or fails a build.
"""

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chat.bench.joins import restart
from chat.bench.options import Options
from tests.bench import figures
from tests.servers import free_port, http_ok, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHAT = str(Path(sys.executable).with_name("chat"))
LIFTED = {  # a load test from one machine, sending as fast as it can
    "CHAT_MAX_CONNECTIONS_PER_IP": "1000000",
    "CHAT_RATE_PER_SECOND": "1000000",
    "CHAT_RATE_BURST": "1000000",
    "CHAT_LOG_LEVEL": "warning",
}
KINDS = ["echo", "naive", "fasthtml", "socketio", "ours"]
UVICORN = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
OURS_SETTINGS = ["--ws-per-message-deflate", "false"]  # what `chat serve` runs uvicorn with
COMMANDS = {
    "echo": [*UVICORN, *OURS_SETTINGS, "tests.bench.echo:app"],
    "naive": [*UVICORN, "tests.bench.naive:app"],
    "fasthtml": [*UVICORN, *OURS_SETTINGS, "tests.bench.fasthtml_peer:app"],
    "socketio": [*UVICORN, *OURS_SETTINGS, "tests.bench.socketio_peer:app"],
    "ours": [CHAT, "serve"],
}
SCENARIOS = {  # what each runs: the echo answers its sender only, so it has no fan-out
    "echo": {"memory", "roundtrip", "join"},
    "*": {"memory", "roundtrip", "fanout", "paced", "join", "stall"},
}
PROTOCOLS = {"socketio": "socketio"}  # the others serve a page whose form posts htmx's frames
FILES = 1 << 17  # open files each process may hold: 50,000 sockets and then some
FULL: dict[str, float] = {
    "clients": 1000,
    "idle": 10000,
    "most": 50000,
    "duration": 5,
    "repeat": 3,
    "stall_duration": 30,
    "history": 100,
}
QUICK: dict[str, float] = {
    "clients": 10,
    "idle": 40,
    "most": 80,
    "duration": 0.5,
    "repeat": 1,
    "stall_duration": 1.5,
    "history": 5,
}
KEYS = {  # the figure whose median picks a scenario's round
    "roundtrip": "messages_per_s",
    "fanout": "server_us_per_delivery",
    "paced": "p99_ms",
    "stall": "p99_ratio",
    "join": "join_s",
}


def _more_files() -> None:
    """In the child: allow `FILES` open files (as root; else as many as the hard limit)."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILES, FILES))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One server of the comparison, on its own free port, restartable in place."""

    def __init__(self, kind: str, workdir: Path, tag: str = "") -> None:
        self.kind, self.name, self.workdir = kind, f"{kind}{tag}", workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, wait: bool = True) -> "Server":
        *options, last = COMMANDS[self.kind]
        where = ["--port", str(self.port)]
        command = [*options, last, *where] if self.kind == "ours" else [*options, *where, last]
        env = {
            **os.environ,
            **LIFTED,
            "CHAT_DATABASE_URL": f"sqlite:///{self.workdir / self.name}.db",
        }
        with (self.workdir / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_more_files,
            )
        if wait:
            wait_until(lambda: http_ok(f"{self.url}/rooms/ready"), what=f"the {self.kind} server")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def restart(self) -> None:
        """Stop it, and start it again without waiting: its pages find out when it is back."""
        self.stop()
        self.start(wait=False)


def bench(
    server: Server, scenario: str, sizes: dict[str, float], out: Path, **more: Any
) -> dict[str, Any]:
    """One `chat bench` run of `scenario` against a running server; its results."""
    options = {
        "url": server.url,
        "pid": server.pid,
        "protocol": PROTOCOLS.get(server.kind, "htmx"),
        "scenarios": scenario,
        "clients": int(sizes["clients"]),
        "idle": int(sizes["idle"]),
        "duration": sizes["duration"],
        "stall-clients": max(5, int(sizes["clients"]) // 10),
        "stall-duration": sizes["stall_duration"],
        "history": int(sizes["history"]),
        "json": out,
        **more,
    }
    print(f"--- {server.kind}: {scenario}", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run(
        [CHAT, "bench", *(f"--{k}={v}" for k, v in options.items())],
        check=False,
        preexec_fn=_more_files,
    )
    try:
        result: dict[str, Any] = json.loads(out.read_text())["results"][scenario]
    except (OSError, ValueError, KeyError) as error:
        result = {"error": f"no results: {error}"}
    print(f"--- ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
    return result


def median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median, with every run's `key` kept beside it."""
    ordered = sorted(runs, key=lambda run: figures.get(run, key))
    return {**ordered[len(ordered) // 2], "runs": [run.get(key) for run in runs]}


def measure(sizes: dict[str, float], workdir: Path) -> dict[str, dict[str, Any]]:
    """Every server side by side, fresh; each round of a scenario visits them in turn (in a
    different order each round). Idle memory first, while they are fresh."""
    found: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    count = iter(range(10**6))
    servers = {kind: Server(kind, workdir) for kind in KINDS}
    try:
        for server in servers.values():
            server.start()
        for kind in KINDS:
            found[kind]["memory"] = bench(
                servers[kind], "memory", sizes, workdir / f"{next(count)}.json"
            )
        for scenario, times in [
            ("roundtrip", 5),
            ("fanout", 3),
            ("paced", 3),
            ("join", 3),
            ("stall", 3),
        ]:
            runs: dict[str, list[dict[str, Any]]] = {}
            kinds = [kind for kind in KINDS if scenario in SCENARIOS.get(kind, SCENARIOS["*"])]
            for turn in range(min(times, int(sizes["repeat"]))):
                for kind in kinds[turn % len(kinds) :] + kinds[: turn % len(kinds)]:
                    out = workdir / f"{next(count)}.json"
                    runs.setdefault(kind, []).append(bench(servers[kind], scenario, sizes, out))
            for kind, results in runs.items():
                found[kind][scenario] = median_run(results, KEYS[scenario])
        found["ours"]["restart"] = restarted(servers["ours"], sizes)
    finally:
        for server in servers.values():
            server.stop()
    found["ours"]["most"] = held_most(sizes, workdir)
    return found


def held_most(sizes: dict[str, float], workdir: Path) -> dict[str, Any]:
    """A fresh server of ours with as many idle connections as asked, or as this machine lets
    one process open (a socket is an open file, for the server and for the load tool alike)."""
    asked = int(sizes["most"])
    _more_files()
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    idle = min(asked, files - 1000)  # the rest: the database, logs, the probe's own sockets
    most = Server("ours", workdir, "-most").start()
    try:
        result = bench(
            most, "memory", sizes, workdir / "most.json", idle=idle, **{"idle-room-size": 100}
        )
    finally:
        most.stop()
    return {**result, "asked": asked, "open_files": files}


def restarted(server: Server, sizes: dict[str, float]) -> dict[str, Any]:
    """`clients` pages open on `server`; it restarts; how long until all are back in step."""
    print(f"--- {server.kind}: restart", file=sys.stderr, flush=True)
    options = Options(
        urls=[server.url], clients=int(sizes["clients"]), history=int(sizes["history"])
    )

    async def again() -> None:
        await asyncio.to_thread(server.restart)

    def progress(what: str, done: int, total: int) -> None:
        return None

    try:
        return asyncio.run(restart(options, progress, again))
    finally:
        wait_until(lambda: http_ok(f"{server.url}/rooms/ready"), what="the restarted server")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    parser.add_argument("--write", action="store_true", help="update the README and .docs/")
    parser.add_argument("--out", type=Path, help="where to put the JSON and the plot")
    parser.add_argument("--replot", type=Path, help="no measuring: redraw from this bench.json")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    out = args.out or (ROOT / ".docs" if args.write else Path(tempfile.mkdtemp(prefix="bench-")))
    out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        document = json.loads(args.replot.read_text())
    else:
        _more_files()  # the restart scenario's pages are this process's
        with tempfile.TemporaryDirectory(prefix="chat-bench-") as work:
            measured = measure(sizes, Path(work))
        document = {"machine": figures.machine(peers=True), "sizes": sizes, "results": measured}
    (out / "bench.json").write_text(json.dumps(document, indent=2))
    figures.plot(document["results"], out / "bench.png")
    text = figures.report(document)
    print(text)
    print(f"\n(results and plot in {out})")
    if args.write:
        figures.write_readme(ROOT / "README.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
