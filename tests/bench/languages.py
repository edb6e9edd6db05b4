"""One room read in one language against the same room read in two: what the variants cost.

    python -m tests.bench.languages            print the figures
    python -m tests.bench.languages --write    also update the README table (languages markers)
    python -m tests.bench.languages --replot figures.json --write   the table from a saved --out

One `chat serve` starts (as `tests.bench.counted`: the ordinary server, which also counts its
renders by block and language) with only the abuse limits lifted. `chat bench` then drives a
fresh room of it, flat out and paced, with every page asking for English (`--languages en`),
then with the pages asking for English and Russian in turn (`--languages en,ru`); the two take
turns, round after round, and the medians count. Around each run the server's render counts
are read, so each run also says how often the `pushed` block was rendered per message: once per
language present in the room (one variant each), never once per reader.
The same code compares one time zone with two (tests/bench/zones.py): a `Study` says which
`chat bench` option varies and what the table calls it.
Not a test: nothing here passes or fails a build.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.cluster import BUSY, DISTURBED, wait_for_quiet
from tests.bench.compare import CHAT, LIFTED, ROOT, median_run
from tests.bench.counted import RENDERS_PATH
from tests.bench.figures import machine
from tests.servers import free_port, http_ok, wait_until

FULL: dict[str, float] = {
    "clients": 1000,
    "senders": 50,
    "window": 8,
    "rate": 10,
    "duration": 8,
    "rounds": 3,
    "patience": 60,  # seconds a run waits for a quiet machine
    "tries": 2,  # runs of a layout in a round while others' work disturbs it
}
QUICK = {**FULL, "clients": 20, "senders": 4, "duration": 1, "rate": 20, "rounds": 1}
QUICK |= {"patience": 0, "tries": 1}
GOAL = 0.9  # two variants' deliveries/s at least 90 % of one variant's


@dataclass(frozen=True)
class Study:
    """One room read in one variant against the same room read in two: which variant."""

    option: str  # the `chat bench` option that varies, and the key of its per-variant figures
    noun: str  # what one variant is called: "language"
    layouts: dict[str, list[str]]  # "one" and "two": what the room's pages ask for
    room: str  # prefix of the rooms it uses
    markers: str  # README markers: <!-- NAME:start --> ... <!-- NAME:end -->

    def heading(self, name: str) -> str:
        """A layout's column: `two languages (en, ru)`."""
        asked = self.layouts[name]
        return f"{name} {self.noun}{'s' * (len(asked) > 1)} ({', '.join(asked)})"


LANGUAGES = Study(
    "languages", "language", {"one": ["en"], "two": ["en", "ru"]}, "lang", "languages"
)
LAYOUTS = LANGUAGES.layouts


@contextmanager
def counted_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """`chat serve` with render counts (tests/bench/counted.py) on a free port: URL, pid."""
    port = free_port()
    env = {**os.environ, **LIFTED, "CHAT_DATABASE_URL": f"sqlite:///{workdir / 'chat.db'}"}
    command = [sys.executable, "-m", "tests.bench.counted", "serve", "--port", str(port)]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: http_ok(f"{url}/health"), what="the counted chat server")
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def renders(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + RENDERS_PATH, timeout=10) as response:
        found: dict[str, int] = json.load(response)
    return found


def bench(
    server: tuple[str, int],
    asked: dict[str, list[str]],
    sizes: dict[str, float],
    room: str,
    out: Path,
) -> dict[str, Any]:
    """One `chat bench` run (flat out, then paced) of a fresh room, its pages asking for the
    `asked` variants (`{"languages": ["en", "ru"]}`); its results, with the `pushed` renders it
    caused, by variant (`en:UTC`: language and zone)."""
    url, pid = server
    options = {
        "url": url,
        "pid": pid,
        "scenarios": "fanout,paced",
        "room": room,
        **{option: ",".join(values) for option, values in asked.items()},
        "clients": int(sizes["clients"]),
        "senders": int(sizes["senders"]),
        "window": int(sizes["window"]),
        "rate": sizes["rate"],
        "duration": sizes["duration"],
        "json": out,
    }
    wait_for_quiet(sizes["patience"])
    print(f"--- {room}: {asked}", file=sys.stderr, flush=True)
    before = renders(url)
    command = [CHAT, "bench", *(f"--{k}={v}" for k, v in options.items())]
    subprocess.run(command, check=False, cwd=ROOT)
    after = renders(url)
    results: dict[str, Any] = json.loads(out.read_text())["results"]
    pushed = {
        key.split(":", 1)[1]: after[key] - before.get(key, 0)
        for key in after
        if key.startswith("pushed:") and after[key] != before.get(key, 0)
    }
    messages = sum(results[s].get("messages", 0) for s in ("fanout", "paced"))
    results["pushed_renders"] = pushed
    results["messages"] = messages
    results["renders_per_message"] = sum(pushed.values()) / messages if messages else None
    return results


def measure(
    server: tuple[str, int], sizes: dict[str, float], workdir: Path, study: Study = LANGUAGES
) -> dict[str, list[Any]]:
    """One variant, then two, round after round (A/B/A/B...): a noisy moment of the machine
    hits both alike. A run that others' work disturbed (over `DISTURBED` of a core, flat out)
    is run again, up to `tries` in all; the last try counts."""
    runs: dict[str, list[Any]] = {name: [] for name in study.layouts}
    for number in range(int(sizes["rounds"])):
        for name, asked in study.layouts.items():
            for attempt in range(int(sizes.get("tries", 1))):
                room = f"{study.room}{number}-{name}-{attempt}"
                out = workdir / f"{room}.json"
                found = bench(server, {study.option: asked}, sizes, room, out)
                if (others := _get(found["fanout"], "other_cpu")) <= DISTURBED:
                    break
                print(f"    others used {others:.2f} cores", file=sys.stderr)
            runs[name].append(found)
    return runs


def _get(result: dict[str, Any], key: str) -> float:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def cost(result: dict[str, Any]) -> float:
    """The chat's CPU per delivery, in µs: what the server spends, whoever set the pace."""
    spent = float(sum(result.get("server_cpu") or [float("nan")]))
    return spent / _get(result, "deliveries_per_s") * 1e6


def summary(runs: list[Any], variants: list[str], option: str = "languages") -> dict[str, Any]:
    """Medians over the rounds, each run's figure kept; renders and variants (the `option`'s
    per-variant figures: every page served what it asked for) over all."""
    flat = [{**run["fanout"], "server_us_per_delivery": cost(run["fanout"])} for run in runs]
    paced = [run["paced"] for run in runs]
    every = flat + paced
    served = all(
        each.get("served") == each.get("pages")
        for run in every
        for each in (run.get(option) or {"": {}}).values()
    )
    return {
        "fanout": median_run(flat, "deliveries_per_s"),
        "cost": median_run(flat, "server_us_per_delivery"),
        "paced": median_run(paced, "p99_ms"),
        "load_cpu": statistics.median(_get(run, "load_cpu") for run in flat),
        "server_cpu": statistics.median(sum(run.get("server_cpu") or [0.0]) for run in flat),
        "other_cpu": statistics.median(_get(run, "other_cpu") for run in flat),
        "machine_cpu": statistics.median(_get(run, "machine_cpu") for run in flat),
        "disturbed": sum(_get(run, "other_cpu") > DISTURBED for run in flat),
        "renders_per_message": [run.get("renders_per_message") for run in runs],
        "once_per_variant": all(run.get("renders_per_message") == len(variants) for run in runs),
        "served": served,
        "complete": all(run.get("missing") == 0 and run.get("one_order") for run in every),
    }


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def _runs(values: list[Any], fmt: str) -> str:
    return ", ".join(fmt.format(v) if isinstance(v, int | float) else "?" for v in values)


def table(
    found: dict[str, dict[str, Any]], sizes: dict[str, float], study: Study = LANGUAGES
) -> str:
    one, two = found["one"], found["two"]
    rate = {k: _get(v["fanout"], "deliveries_per_s") for k, v in found.items()}
    ratio = rate["two"] / rate["one"]
    p99 = {k: _get(v["paced"], "p99_ms") for k, v in found.items()}
    us = {k: _get(v["cost"], "server_us_per_delivery") for k, v in found.items()}
    clients = int(sizes["clients"])

    def fan(s: dict[str, Any]) -> str:
        return (
            f"{_get(s['fanout'], 'deliveries_per_s'):,.0f} "
            f"(runs {_runs(s['fanout']['runs'], '{:,.0f}')})"
        )

    def spent(s: dict[str, Any]) -> str:
        return (
            f"{_get(s['cost'], 'server_us_per_delivery'):.2f} µs "
            f"(runs {_runs(s['cost']['runs'], '{:.2f}')})"
        )

    def lat(s: dict[str, Any]) -> str:
        return (
            f"{_get(s['paced'], 'p99_ms'):.1f} ms (p50 {_get(s['paced'], 'p50_ms'):.1f}; "
            f"runs {_runs(s['paced']['runs'], '{:.1f}')})"
        )

    def variants(s: dict[str, Any]) -> str:
        return (
            f"{_yes(s['once_per_variant'] and s['served'] and s['complete'])}: "
            f"{_runs(s['renders_per_message'], '{:.2f}')} per message"
        )

    def cpu(s: dict[str, Any]) -> str:
        bound = " (**the limit**)" if s["load_cpu"] >= BUSY else ""
        return (
            f"load tool {s['load_cpu']:.2f}{bound}, chat {s['server_cpu']:.2f}, "
            f"others {s['other_cpu']:.2f}; {s['machine_cpu']:.2f} of {os.cpu_count()} busy"
        )

    return "\n".join(
        [
            f"| | {study.heading('one')} | {study.heading('two')} | goal | met |",
            "|---|---|---|---|---|",
            f"| Deliveries/s, {clients:,} pages in one room, flat out "
            f"| {fan(one)} | {fan(two)} | two ≥ {GOAL:.0%} of one "
            f"| **{ratio:.0%}**: {_yes(ratio >= GOAL)} |",
            f"| The chat's CPU per delivery, flat out | {spent(one)} | {spent(two)} "
            f"| two ≤ {2 - GOAL:.0%} of one | **{us['two'] / us['one']:.0%}**: "
            f"{_yes(us['two'] / us['one'] <= 2 - GOAL)} |",
            f"| Post to delivery at {sizes['rate']:.0f} messages/s, p99 "
            f"| {lat(one)} | {lat(two)} | | {p99['two'] / p99['one']:.2f}x |",
            f"| `pushed` renders: once per {study.noun}, every page served in its {study.noun}, "
            f"nothing missing | {variants(one)} | {variants(two)} | 1 and 2 "
            f"| {_yes(one['once_per_variant'] and two['once_per_variant'])} |",
            f"| CPU while flat out, in cores (medians) | {cpu(one)} | {cpu(two)} | | |",
        ]
    )


def write_readme(text: str, markers: str = "languages") -> None:
    readme = ROOT / "README.md"
    start, end = f"<!-- {markers}:start -->", f"<!-- {markers}:end -->"
    before, rest = readme.read_text().split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")


def main(study: Study = LANGUAGES, doc: str | None = __doc__) -> int:
    parser = argparse.ArgumentParser(description=doc.split("\n")[0] if doc else "")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    parser.add_argument("--write", action="store_true", help="update the README table")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {FULL['rounds']:.0f})")
    parser.add_argument(
        "--duration", type=float, help=f"seconds a run sends ({FULL['duration']:.0f})"
    )
    parser.add_argument("--out", type=Path, help="also write every run's figures here (JSON)")
    parser.add_argument("--replot", type=Path, help="no measuring: the table from this --out")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.rounds:
        sizes["rounds"] = args.rounds
    if args.duration:
        sizes["duration"] = args.duration
    if args.replot:
        saved = json.loads(args.replot.read_text())
        sizes, runs, measured_on = saved["sizes"], saved["runs"], saved["machine"]
    else:
        with tempfile.TemporaryDirectory(prefix=f"chat-{study.option}-") as work:
            with counted_server(Path(work)) as server:
                runs = measure(server, sizes, Path(work), study)
        measured_on = machine()
    found = {
        name: summary(runs[name], asked, study.option) for name, asked in study.layouts.items()
    }
    rounds = int(sizes["rounds"])
    disturbed = sum(each["disturbed"] for each in found.values())
    text = (
        f"Measured on {measured_on}. One process, SQLite; {int(sizes['senders'])} of the pages "
        f"send (both {study.option} among them), {int(sizes['window'])} messages in flight; "
        f"{int(sizes['duration'])} s runs; medians of {rounds} round{'s' * (rounds > 1)}, one "
        f"{study.noun} and two taking turns (A/B/A/B); "
        f"in {disturbed} of {2 * rounds} flat-out runs others' work took over {DISTURBED} of a "
        "core."
        f"\n\n{table(found, sizes, study)}"
    )
    if args.out:
        document = {"machine": measured_on, "sizes": sizes, "summary": found, "runs": runs}
        args.out.write_text(json.dumps(document, indent=2))
    print(text)
    if args.write:
        write_readme(text, study.markers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
