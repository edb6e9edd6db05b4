"""One room over one process and over two processes of one chat: its order, rate and latency.

    python -m tests.bench.cluster            print the figures
    python -m tests.bench.cluster --write    also update the README table (cluster markers)
    python -m tests.bench.cluster --replot figures.json --write   the table from a saved --out

A throw-away PostgreSQL and Redis start once; on them run one `chat serve` process and a pair
of them (the same database and broker; only the abuse limits lifted, as the load comes fast
from one address). `chat bench` drives each in turn, one round after another: the same room
gets pages spread evenly over the processes and senders on each, flat out and then paced.
Medians of the rounds count; each run waits for the machine to be quiet first, reports the CPU
of the load tool, the chat, the engines and the rest of the machine (someone else's work), and
is run again if that rest was large.
Not a test: nothing here passes or fails a build.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.bench.compare import CHAT, LIFTED, ROOT, median_run
from tests.bench.figures import machine
from tests.servers import ChatServer, PostgresServer, RedisServer, free_port

FULL: dict[str, float] = {
    "clients": 200,
    "senders": 8,
    "window": 32,
    "rate": 200,
    "duration": 8,
    "rounds": 5,
    "patience": 120,  # seconds a run waits for a quiet machine
    "tries": 3,  # runs of a layout in a round while others' work disturbs it
}
QUICK = {**FULL, "clients": 20, "senders": 4, "window": 8, "rate": 50, "duration": 1, "rounds": 1}
QUICK |= {"patience": 0, "tries": 1}
LAYOUTS = {"one": 1, "two": 2}  # chat processes sharing the database and the broker
BUSY = 0.9  # of a core: the load tool (one thread) is the limit above this
QUIET = 0.3  # cores busy on the machine, at most, before a run starts
DISTURBED = 0.25  # cores used by others' work during a run, above which it is run again


@dataclass
class Engines:
    """Where the chat finds PostgreSQL and Redis, and their processes (when started here)."""

    env: dict[str, str]
    pids: list[int] = field(default_factory=list)


@contextmanager
def engines(postgres_url: str = "", redis_url: str = "") -> Iterator[Engines]:
    """PostgreSQL and Redis, started here unless given."""
    with ExitStack() as stack:
        pids = []
        if not postgres_url:
            postgres = PostgresServer().start()
            stack.callback(postgres.remove)
            stack.callback(postgres.stop)
            postgres_url = postgres.url
            pids.append(int((postgres.data / "postmaster.pid").read_text().split()[0]))
        if not redis_url:
            redis = RedisServer().start()
            stack.callback(redis.remove)
            stack.callback(redis.stop)
            redis_url = redis.url
            pids += [redis.process.pid] if redis.process else []
        yield Engines({"CHAT_DATABASE_URL": postgres_url, "CHAT_BROKER_URL": redis_url}, pids)


def wait_for_quiet(patience: float) -> None:
    """Wait until the machine is nearly idle (others' tests and builds done), or `patience`
    seconds."""
    deadline = time.monotonic() + patience
    cores = os.cpu_count() or 1
    while time.monotonic() < deadline:
        busy = psutil.cpu_percent(interval=2) / 100 * cores
        if busy <= QUIET:
            return
        print(f"    waiting for a quiet machine: {busy:.1f} cores busy", file=sys.stderr)


@contextmanager
def layouts(engines: Engines, workdir: Path) -> Iterator[dict[str, list[ChatServer]]]:
    """Every layout's `chat serve` processes, started one after another on the same engines."""
    with ExitStack() as stack:
        found: dict[str, list[ChatServer]] = {}
        for name, count in LAYOUTS.items():
            found[name] = []
            for _ in range(count):
                server = ChatServer(workdir, free_port(), **LIFTED, **engines.env).start()
                stack.callback(server.stop)
                found[name].append(server)
        yield found


def bench(
    servers: list[ChatServer], engines: Engines, sizes: dict[str, float], room: str, out: Path
) -> Any:
    """One `chat bench` run (flat out, then paced) of one room over `servers`; its results."""
    where = [f"--url={s.url}" for s in servers]
    where += [f"--pid={s.process.pid}" for s in servers if s.process is not None]
    where += [f"--engine-pid={pid}" for pid in engines.pids]
    options = {
        "scenarios": "fanout,paced",
        "room": room,
        "clients": int(sizes["clients"]),
        "senders": int(sizes["senders"]),
        "window": int(sizes["window"]),
        "rate": sizes["rate"],
        "duration": sizes["duration"],
        "json": out,
    }
    wait_for_quiet(sizes["patience"])
    print(f"--- {room}: {len(servers)} process(es)", file=sys.stderr, flush=True)
    command = [CHAT, "bench", *where, *(f"--{k}={v}" for k, v in options.items())]
    subprocess.run(command, check=False, cwd=ROOT)
    return json.loads(out.read_text())["results"]


def measure(
    servers: dict[str, list[ChatServer]], engines: Engines, sizes: dict[str, float], workdir: Path
) -> Any:
    """The layouts take turns, round after round (the order flips each round), so a noisy
    moment of the machine hits both alike. A run that others' work disturbed is run again
    (up to `tries` in all); if it never runs undisturbed, the last try counts, marked."""
    runs: dict[str, list[Any]] = {name: [] for name in servers}
    for number in range(int(sizes["rounds"])):
        turn = list(servers) if number % 2 == 0 else list(reversed(servers))
        for name in turn:
            for attempt in range(int(sizes["tries"])):
                room = f"cluster{number}-{name}-{attempt}"
                found = bench(servers[name], engines, sizes, room, workdir / f"{room}.json")
                if not (disturbed := _disturbed(found)):
                    break
                print(f"    others used {disturbed:.2f} cores: again", file=sys.stderr)
            runs[name].append({**found, "disturbed": disturbed})
    return runs


def _disturbed(results: dict[str, Any]) -> float:
    """The most CPU others' work took during a phase of the run, if above `DISTURBED`."""
    others = max(_get(results.get(phase, {}), "other_cpu") for phase in ("fanout", "paced"))
    return others if others > DISTURBED else 0.0


def summary(runs: list[Any]) -> dict[str, Any]:
    """Medians over the rounds: flat-out rate, paced latency; order over every run."""
    flat = [run["fanout"] for run in runs]
    paced = [run["paced"] for run in runs]
    every = flat + paced
    return {
        "disturbed": sum(bool(run["disturbed"]) for run in runs),
        "fanout": median_run(flat, "messages_per_s"),
        "paced": median_run(paced, "p99_ms"),
        "load_cpu": statistics.median(_get(run, "load_cpu") for run in flat),
        "server_cpu": statistics.median(sum(run.get("server_cpu") or [0.0]) for run in flat),
        "engine_cpu": statistics.median(sum(run.get("engine_cpu") or [0.0]) for run in flat),
        "other_cpu": statistics.median(_get(run, "other_cpu") for run in flat),
        "machine_cpu": statistics.median(_get(run, "machine_cpu") for run in flat),
        "one_order": all(run.get("one_order") is True for run in every),
        "runs": len(every),
        "pages": sum(run.get("pages_complete", 0) for run in every),
        "page_runs": sum(run.get("clients", 0) for run in every),
        "messages": sum(run.get("messages", 0) for run in every),
        "orders": max(run.get("orders", 0) for run in every),
        "missing": sum(run.get("missing", 0) for run in every),
        "duplicates": sum(run.get("duplicates", 0) for run in every),
    }


def _get(result: dict[str, Any], key: str) -> float:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def table(found: dict[str, dict[str, Any]], sizes: dict[str, float]) -> str:
    one, two = found["one"], found["two"]
    rate = {k: _get(v["fanout"], "messages_per_s") for k, v in found.items()}
    ratio = rate["two"] / rate["one"]
    p99 = {k: _get(v["paced"], "p99_ms") for k, v in found.items()}
    clients, senders = int(sizes["clients"]), int(sizes["senders"])

    def fan(s: dict[str, Any]) -> str:
        f = s["fanout"]
        return f"{_get(f, 'messages_per_s'):,.0f} ({_get(f, 'deliveries_per_s'):,.0f} deliveries/s)"

    def lat(s: dict[str, Any]) -> str:
        paced, runs = s["paced"], s["paced"]["runs"]
        return (
            f"{_get(paced, 'p99_ms'):.1f} ms (p50 {_get(paced, 'p50_ms'):.1f}; "
            f"runs {min(runs):.0f} to {max(runs):.0f} ms)"
        )

    def order(s: dict[str, Any]) -> str:
        return (
            f"{_yes(s['one_order'])}: {s['pages']:,} of {s['page_runs']:,} pages complete, "
            f"{s['messages']:,} messages, {s['missing']:,} missing, {s['duplicates']:,} twice, "
            f"{s['orders']} order(s) per run"
        )

    def cpu(s: dict[str, Any]) -> str:
        bound = " (**the limit**)" if s["load_cpu"] >= BUSY else ""
        return (
            f"load tool {s['load_cpu']:.2f}{bound}, chat {s['server_cpu']:.2f}, "
            f"PostgreSQL + Redis {s['engine_cpu']:.2f}, others {s['other_cpu']:.2f}; "
            f"{s['machine_cpu']:.2f} of {os.cpu_count()} busy"
            + (f"; {s['disturbed']} run(s) disturbed" if s["disturbed"] else "")
        )

    rows = [
        "| | one process | two processes | goal | met |",
        "|---|---|---|---|---|",
        f"| Messages/s into one room, {clients} pages, {senders} senders, flat out "
        f"| {fan(one)} | {fan(two)} | two ≥ 80 % of one | **{ratio:.0%}**: {_yes(ratio >= 0.8)} |",
        f"| Post to delivery at {sizes['rate']:.0f} messages/s, p99 "
        f"| {lat(one)} | {lat(two)} | two ≤ 25 ms | {_yes(p99['two'] <= 25)} |",
        f"| One order on every page, the store's | {order(one)} | {order(two)} | yes "
        f"| {_yes(one['one_order'] and two['one_order'])} |",
        f"| CPU while flat out, in cores (medians) | {cpu(one)} | {cpu(two)} | | |",
    ]
    return "\n".join(rows)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    start, end = "<!-- cluster:start -->", "<!-- cluster:end -->"
    before, rest = readme.read_text().split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    parser.add_argument("--write", action="store_true", help="update the README table")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {FULL['rounds']:.0f})")
    parser.add_argument("--postgres", default="", help="use this PostgreSQL (default: start one)")
    parser.add_argument("--redis", default="", help="use this Redis (default: start one)")
    parser.add_argument("--out", type=Path, help="also write every run's figures here (JSON)")
    parser.add_argument("--replot", type=Path, help="no measuring: the table from this --out")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.rounds:
        sizes["rounds"] = args.rounds
    if args.replot:
        saved = json.loads(args.replot.read_text())
        sizes, runs, measured_on = saved["sizes"], saved["runs"], saved["machine"]
    else:
        with (
            tempfile.TemporaryDirectory(prefix="chat-cluster-") as work,
            engines(args.postgres, args.redis) as started,
            layouts(started, Path(work)) as servers,
        ):
            runs = measure(servers, started, sizes, Path(work))
        measured_on = machine()
    found = {name: summary(each) for name, each in runs.items()}
    rounds = int(sizes["rounds"])
    disturbed = sum(each["disturbed"] for each in found.values())
    text = (
        f"Measured on {measured_on}; PostgreSQL 15 (fsync off) and Redis on it too. "
        f"Medians of {rounds} round{'s' * (rounds > 1)}, the layouts taking turns; a run "
        f"during which others' work took over {DISTURBED} of a core was run again "
        f"({sizes['tries']:.0f} tries at most): {disturbed} of {2 * rounds} stayed disturbed."
        f"\n\n{table(found, sizes)}"
    )
    if args.out:
        document = {"machine": measured_on, "sizes": sizes, "summary": found, "runs": runs}
        args.out.write_text(json.dumps(document, indent=2))
    print(text)
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
