"""Our chat against the floor of its stack and a naive broadcast server, in one run.

    python -m tests.bench.compare            print the targets, figures and ratios
    python -m tests.bench.compare --write    also update the README table, .docs/bench.png/json

Each server starts fresh on a free port and runs alone: a bare FastAPI echo (tests/bench/echo.py,
our uvicorn settings: the floor), a tutorial-style broadcast server (tests/bench/naive.py,
uvicorn's defaults, as tutorials run it) and ours (`chat serve`, our defaults; only the abuse
limits are lifted, since the load comes fast from one address). `chat bench` drives all three.
Not a test: machines are noisy, so nothing here passes or fails a build.
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.servers import free_port, http_ok, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHAT = str(Path(sys.executable).with_name("chat"))
LIFTED = {  # a load test from one address, sending as fast as it can
    "CHAT_MAX_CONNECTIONS_PER_IP": "1000000",
    "CHAT_RATE_PER_SECOND": "1000000",
    "CHAT_RATE_BURST": "1000000",
    "CHAT_LOG_LEVEL": "warning",
}
FULL: dict[str, float] = {"clients": 1000, "idle": 5000, "most": 10000, "duration": 8, "repeat": 5}
QUICK: dict[str, float] = {"clients": 10, "idle": 40, "most": 80, "duration": 0.5, "repeat": 1}


@dataclass
class Target:
    name: str
    goal: str
    figure: str
    met: bool


@contextmanager
def running(kind: str, workdir: Path, tag: str = "") -> Iterator[tuple[str, int]]:
    """Start `kind` (ours, echo, naive) on a free port; yield its URL and process id."""
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "--port", str(port), "--no-access-log"]
    commands = {
        "ours": [CHAT, "serve", "--port", str(port)],
        "echo": [*uvicorn, "--log-level", "warning", "--ws-per-message-deflate", "false"],
        "naive": [*uvicorn, "--log-level", "warning"],
    }
    apps = {"echo": ["tests.bench.echo:app"], "naive": ["tests.bench.naive:app"], "ours": []}
    name = f"{kind}{tag}"
    env = {**os.environ, **LIFTED, "CHAT_DATABASE_URL": f"sqlite:///{workdir / name}.db"}
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [*commands[kind], *apps[kind]], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/rooms/ready"), what=f"the {kind} server")
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def bench(
    server: tuple[str, int], scenario: str, sizes: dict[str, float], out: Path, idle: int = 0
) -> dict[str, Any]:
    """One `chat bench` run of `scenario` against a running server; its results."""
    url, pid = server
    options = {
        "url": url,
        "pid": pid,
        "scenarios": scenario,
        "clients": int(sizes["clients"]),
        "idle": int(idle or sizes["idle"]),
        "duration": sizes["duration"],
        "stall-clients": max(5, int(sizes["clients"]) // 10),
        "stall-duration": 4.5 * sizes["duration"],
        "json": out,
    }
    print(f"--- {url}: {scenario}", file=sys.stderr, flush=True)
    subprocess.run([CHAT, "bench", *(f"--{k}={v}" for k, v in options.items())], check=False)
    result: dict[str, Any] = json.loads(out.read_text())["results"][scenario]
    return result


KEYS = {
    "roundtrip": "messages_per_s",
    "fanout": "deliveries_per_s",
    "paced": "p99_ms",
    "stall": "p99_ms",
}


def median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median, with every run's `key` kept beside it."""
    ordered = sorted(runs, key=lambda run: _get(run, key))
    return {**ordered[len(ordered) // 2], "runs": [run.get(key) for run in runs]}


def measure(sizes: dict[str, float], workdir: Path) -> dict[str, dict[str, Any]]:
    """All three servers side by side, fresh; each pair takes turns, so a noisy moment of
    the machine hits both alike. Medians of several runs; idle memory first, while fresh."""
    found: dict[str, dict[str, Any]] = {"echo": {}, "naive": {}, "ours": {}}
    count = iter(range(10**6))
    with ExitStack() as stack:
        servers = {kind: stack.enter_context(running(kind, workdir)) for kind in found}
        for kind in ("echo", "ours"):
            found[kind]["memory"] = bench(
                servers[kind], "memory", sizes, workdir / f"{next(count)}.json"
            )
        plan = [
            ("roundtrip", "echo", 5),
            ("fanout", "naive", 3),
            ("paced", "naive", 3),
            ("stall", "naive", 1),
        ]
        for scenario, baseline, times in plan:
            runs: dict[str, list[dict[str, Any]]] = {baseline: [], "ours": []}
            for _ in range(min(times, int(sizes["repeat"]))):
                for kind in runs:
                    out = workdir / f"{next(count)}.json"
                    runs[kind].append(bench(servers[kind], scenario, sizes, out))
            for kind, results in runs.items():
                found[kind][scenario] = median_run(results, KEYS[scenario])
    with running("ours", workdir, "-most") as server:
        most = int(sizes["most"])
        found["ours"]["most"] = bench(server, "memory", sizes, workdir / "most.json", idle=most)
    return found


def _get(result: dict[str, Any], key: str) -> float:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def targets(m: dict[str, dict[str, Any]], sizes: dict[str, float]) -> list[Target]:
    ours, naive, echo = m["ours"], m["naive"], m["echo"]
    fan = _get(ours["fanout"], "deliveries_per_s") / _get(naive["fanout"], "deliveries_per_s")
    rt = _get(ours["roundtrip"], "messages_per_s") / _get(echo["roundtrip"], "messages_per_s")
    mem = _get(ours["memory"], "bytes_per_connection") / _get(
        echo["memory"], "bytes_per_connection"
    )
    paced_ours, paced_naive = _get(ours["paced"], "p99_ms"), _get(naive["paced"], "p99_ms")
    stall = ours["stall"]
    cut = _get(stall, "cut_off_s")
    clients = sizes["clients"]
    return [
        Target(
            f"Fan-out, {clients:,} clients, flat out",
            "≥ 3x the naive server's deliveries/s",
            f"{_get(ours['fanout'], 'deliveries_per_s'):,.0f} vs {_get(naive['fanout'], 'deliveries_per_s'):,.0f}/s: **{fan:.2f}x**",
            fan >= 3,
        ),
        Target(
            f"Paced fan-out, {clients:,} clients at 10 messages/s",
            "p99 delivery ≤ the naive server's",
            f"p99 {paced_ours:.1f} vs {paced_naive:.1f} ms (p50 {_get(ours['paced'], 'p50_ms'):.1f} vs {_get(naive['paced'], 'p50_ms'):.1f})",
            paced_ours <= paced_naive,
        ),
        Target(
            "One client's round trip, storage included",
            "≥ 50% of the bare echo's messages/s",
            f"{_get(ours['roundtrip'], 'messages_per_s'):,.0f} vs {_get(echo['roundtrip'], 'messages_per_s'):,.0f}/s: **{rt:.0%}**",
            rt >= 0.5,
        ),
        Target(
            f"Memory per idle connection at {sizes['idle']:,}",
            "≤ 1.2x the bare echo's",
            f"{_get(ours['memory'], 'bytes_per_connection') / 1024:.1f} vs {_get(echo['memory'], 'bytes_per_connection') / 1024:.1f} KB: **{mem:.2f}x**",
            mem <= 1.2,
        ),
        Target(
            "Connections held by one process",
            f"{sizes['most']:,}",
            f"{int(_get(m['ours']['most'], 'held')):,} held, {int(_get(m['ours']['most'], 'reached')):,} reached, {_get(m['ours']['most'], 'server_rss_mb'):.0f} MB",
            _get(m["ours"]["most"], "held") >= sizes["most"],
        ),
        Target(
            "A stalled reader",
            "others' p99 ≤ 1.5x without it; cut off ≤ 30 s; growth < 10 MB; no freeze",
            f"p99 {_get(stall, 'p99_ratio'):.2f}x, cut off at {cut:.1f} s, +{_get(stall, 'server_growth_mb'):.1f} MB, "
            f"{int(_get(stall, 'missing'))} missing (naive: {int(_get(naive['stall'], 'missing')):,} missing)",
            _get(stall, "p99_ratio") <= 1.5
            and cut <= 30
            and _get(stall, "server_growth_mb") < 10
            and _get(stall, "missing") == 0,
        ),
    ]


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        if found := re.search(r"model name\s*:\s*(.*)", info.read()):
            cpu = found[1]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} x {cpu}, {memory:.0f} GiB, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, uvicorn {version('uvicorn')}, "
        f"websockets {version('websockets')}; server and load tool on the same machine"
    )


def table(found: list[Target]) -> str:
    rows = ["| target | goal | measured | met |", "|---|---|---|---|"]
    rows += [
        f"| {t.name} | {t.goal} | {t.figure} | {'yes' if t.met else '**no**'} |" for t in found
    ]
    return "\n".join(rows)


def plot(m: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours, naive, echo = m["ours"], m["naive"], m["echo"]
    panels = [
        (
            "Fan-out, flat out\n(deliveries/s, higher is better)",
            "deliveries_per_s",
            "fanout",
            naive,
            "naive",
        ),
        ("Paced fan-out\n(p99 ms, lower is better)", "p99_ms", "paced", naive, "naive"),
        (
            "Round trip, one client\n(messages/s, higher is better)",
            "messages_per_s",
            "roundtrip",
            echo,
            "bare echo",
        ),
        (
            "Idle connection\n(KB of server memory, lower is better)",
            "bytes_per_connection",
            "memory",
            echo,
            "bare echo",
        ),
        (
            "With a stalled reader\n(others' p99 ms, lower is better)",
            "p99_ms",
            "stall",
            naive,
            "naive",
        ),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(15, 3.6))
    for axis, (title, key, scenario, baseline, label) in zip(axes, panels, strict=True):
        scale = 1 / 1024 if key == "bytes_per_connection" else 1
        values = [_get(baseline[scenario], key) * scale, _get(ours[scenario], key) * scale]
        bars = axis.bar([label, "chat"], values, color=["#9aa3b2", "#2f6fed"])
        axis.bar_label(bars, fmt="{:,.0f}" if max(values) > 100 else "{:,.1f}")
        if (missing := _get(baseline[scenario], "missing")) > 0:
            axis.annotate(
                f"{label} froze:\n{missing:,.0f} deliveries\nnever arrived",
                xy=(0, values[0] / 2),
                ha="center",
                fontsize=8,
                color="#b3261e",
            )
        axis.set_title(title, fontsize=10)
        axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    content = readme.read_text()
    before, rest = content.split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")


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
        saved = json.loads(args.replot.read_text())
        sizes, measured = saved["sizes"], saved["results"]
    else:
        with tempfile.TemporaryDirectory(prefix="chat-bench-") as work:
            measured = measure(sizes, Path(work))
    found = targets(measured, sizes)
    text = f"Measured on {saved['machine'] if args.replot else machine()}.\n\n{table(found)}"
    document = {"machine": machine(), "sizes": sizes, "results": measured}
    if args.replot:
        document["machine"] = saved["machine"]
    (out / "bench.json").write_text(json.dumps(document, indent=2))
    plot(measured, out / "bench.png")
    print(text)
    print(f"\n(results and plot in {out})")
    if args.write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
