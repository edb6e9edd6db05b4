"""The comparison's figures as the README shows them: targets met or not, every server side by
side, and the plot."""

import math
import os
import platform
import re
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

NAMES = {
    "echo": "bare echo",
    "naive": "naive",
    "fasthtml": "FastHTML",
    "socketio": "python-socketio",
    "ours": "**chat**",
}
PEERS = ["fasthtml", "socketio"]  # what people would pick instead
Results = dict[str, dict[str, Any]]


@dataclass
class Target:
    name: str
    goal: str
    figure: str
    met: bool


def get(result: dict[str, Any] | None, key: str) -> float:
    value = (result or {}).get(key)
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


def _best(m: Results, scenario: str, key: str, *, lowest: bool) -> tuple[str, float]:
    """The peer with the best `key` in `scenario`, and its figure."""
    found = [(get(m[p].get(scenario), key), p) for p in PEERS if p in m]
    found = [(value, peer) for value, peer in found if not math.isnan(value)]
    if not found:
        return "no peer", math.nan
    value, peer = min(found) if lowest else max(found)
    return NAMES[peer], value


def targets(m: Results, sizes: dict[str, float]) -> list[Target]:
    ours = m["ours"]
    clients = int(sizes["clients"])
    cpu_peer, cpu_best = _best(m, "fanout", "server_us_per_delivery", lowest=True)
    cpu = get(ours["fanout"], "server_us_per_delivery")
    paced_peer, paced_best = _best(m, "paced", "p99_ms", lowest=True)
    paced = get(ours["paced"], "p99_ms")
    mem_peer, mem_best = _best(m, "memory", "bytes_per_connection", lowest=True)
    memory = get(ours["memory"], "bytes_per_connection")
    rt_peer, rt_best = _best(m, "roundtrip", "messages_per_s", lowest=False)
    rt = get(ours["roundtrip"], "messages_per_s")
    join_peer, join_best = _best(m, "join", "join_s", lowest=True)
    join = get(ours["join"], "join_s")
    most, stall, back = ours.get("most", {}), ours["stall"], ours.get("restart", {})
    cut = get(stall, "cut_off_s")
    held, reached = _count(most, "held"), _count(most, "reached")
    asked, files = _count(most, "asked") or int(sizes["most"]), _count(most, "open_files")
    allowed = f"; one process may open {files:,} files here" if files and files < asked else ""
    return [
        Target(
            f"Server CPU per delivery, {clients:,}-client flood",
            "≤ 1/40 of the best peer's",
            f"{cpu:.2f} vs {cpu_best:.1f} µs ({cpu_peer}): **1/{cpu_best / cpu:.0f}**",
            cpu * 40 <= cpu_best,
        ),
        Target(
            f"Paced fan-out p99, {clients:,} clients at 10 messages/s",
            "≤ the best peer's",
            f"{paced:.1f} vs {paced_best:.1f} ms ({paced_peer})",
            paced <= paced_best,
        ),
        Target(
            f"Memory per idle connection at {int(sizes['idle']):,}",
            "≤ 20 KB and ≤ 0.5x the lightest peer's",
            f"{memory / 1024:.1f} vs {mem_best / 1024:.1f} KB ({mem_peer}): **{memory / mem_best:.2f}x**",
            memory <= 20 * 1024 and memory <= 0.5 * mem_best,
        ),
        Target(
            "Idle connections held by one process",
            f"{asked:,}, each receiving a probe",
            f"{held:,} held, {reached:,} reached, {get(most, 'server_rss_mb'):,.0f} MB{allowed}",
            held == reached == asked,
        ),
        Target(
            "One client's round trip, storage included",
            "≥ the best peer's",
            f"{rt:,.0f} vs {rt_best:,.0f} messages/s ({rt_peer})",
            rt >= rt_best,
        ),
        Target(
            "A stalled reader",
            "others' p99 ≤ 1.5x without it; cut off ≤ 30 s; growth < 10 MB; none missing",
            f"p99 {get(stall, 'p99_ratio'):.2f}x, cut off at {cut:.1f} s, "
            f"+{get(stall, 'server_growth_mb'):.1f} MB, {_count(stall, 'missing')} missing",
            get(stall, "p99_ratio") <= 1.5
            and cut <= 30
            and get(stall, "server_growth_mb") < 10
            and get(stall, "missing") == 0,
        ),
        Target(
            f"{clients:,} pages joining (page, socket, catch-up)",
            "as fast as the best peer's bare socket joins",
            f"{join:.2f} vs {join_best:.2f} s ({join_peer})",
            join <= join_best,
        ),
        Target(
            f"Restart with {clients:,} pages open",
            f"all back with the room's {int(sizes['history'])} messages, none missing or doubled, "
            "within 2x the fresh joins",
            f"{_count(back, 'pages_resynced'):,} pages back in {get(back, 'back_s'):.2f} s "
            f"(fresh joins {join:.2f} s), {_count(back, 'missing')} missing, "
            f"{_count(back, 'duplicates')} doubled",
            get(back, "pages_resynced") == get(back, "pages")
            and get(back, "missing") == get(back, "duplicates") == 0
            and get(back, "back_s") <= 2 * join,
        ),
    ]


def _count(result: dict[str, Any] | None, key: str) -> int:
    value = get(result, key)
    return 0 if math.isnan(value) else int(value)


def _limited(result: dict[str, Any]) -> str:
    return " †" if result.get("limited_by") == "load tool" else ""


ROWS: list[tuple[str, str, str, str]] = [  # (what, scenario, key, format)
    ("Flood fan-out, deliveries/s", "fanout", "deliveries_per_s", "{:,.0f}"),
    ("Flood fan-out, server CPU µs per delivery", "fanout", "server_us_per_delivery", "{:,.2f}"),
    ("Paced fan-out, p99 ms", "paced", "p99_ms", "{:,.1f}"),
    ("Round trip, messages/s", "roundtrip", "messages_per_s", "{:,.0f}"),
    ("Idle connection, KB of server memory", "memory", "bytes_per_connection", "{:,.1f}"),
    ("Stalled reader, others' p99 ms", "stall", "p99_ms", "{:,.1f}"),
    ("Stalled reader, deliveries missing", "stall", "missing", "{:,.0f}"),
    ("Pages joining, s", "join", "join_s", "{:,.2f}"),
]


def side_by_side(m: Results) -> str:
    kinds = [kind for kind in NAMES if kind in m]
    rows = [
        "| | " + " | ".join(NAMES[kind] for kind in kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for what, scenario, key, fmt in ROWS:
        cells = []
        for kind in kinds:
            result = m[kind].get(scenario) or {}
            value = get(result, key) / (1024 if key == "bytes_per_connection" else 1)
            shown = "n/a" if math.isnan(value) else fmt.format(value)
            cells.append(shown + (_limited(result) if scenario == "fanout" else ""))
        rows.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def machine(peers: bool = False) -> str:
    """The machine and the stack's versions (with `peers`, theirs too)."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        if found := re.search(r"model name\s*:\s*(.*)", info.read()):
            cpu = found[1]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    stack = f"uvicorn {version('uvicorn')}, websockets {version('websockets')}"
    if peers:
        stack += (
            f", python-socketio {version('python-socketio')}, "
            f"python-fasthtml {version('python-fasthtml')}"
        )
    return (
        f"{os.cpu_count()} x {cpu}, {memory:.0f} GiB, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, {stack}; servers and load tool on the same machine"
    )


def report(document: dict[str, Any]) -> str:
    m, sizes = document["results"], document["sizes"]
    rows = ["| target | goal | measured | met |", "|---|---|---|---|"]
    rows += [
        f"| {t.name} | {t.goal} | {t.figure} | {'yes' if t.met else '**no**'} |"
        for t in targets(m, sizes)
    ]
    return (
        f"Measured on {document['machine']}.\n\n"
        + "\n".join(rows)
        + "\n\nEvery server, same run (medians of alternating rounds; † the load tool's one "
        "core was the limit, not the server):\n\n" + side_by_side(m)
    )


PANELS = [  # (title, scenario, key, scale)
    (
        "Flood fan-out\n(server CPU µs per delivery, lower is better)",
        "fanout",
        "server_us_per_delivery",
        1,
    ),
    ("Paced fan-out\n(p99 ms, lower is better)", "paced", "p99_ms", 1),
    ("Round trip, one client\n(messages/s, higher is better)", "roundtrip", "messages_per_s", 1),
    (
        "Idle connection\n(KB of server memory, lower is better)",
        "memory",
        "bytes_per_connection",
        1 / 1024,
    ),
    ("With a stalled reader\n(others' p99 ms, lower is better)", "stall", "p99_ms", 1),
    ("Pages joining\n(s for all of them, lower is better)", "join", "join_s", 1),
]


def plot(m: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [kind for kind in NAMES if kind in m]
    labels = [NAMES[kind].strip("*").replace("python-", "") for kind in kinds]
    colors = ["#2f6fed" if kind == "ours" else "#9aa3b2" for kind in kinds]
    figure, axes = plt.subplots(2, 3, figsize=(15, 7))
    for axis, (title, scenario, key, scale) in zip(axes.flat, PANELS, strict=True):
        values = [get(m[kind].get(scenario), key) * scale for kind in kinds]
        bars = axis.bar(labels, [0 if math.isnan(v) else v for v in values], color=colors)
        finite = [v for v in values if not math.isnan(v)]
        top = max(finite, default=1)
        fmt = "{:,.0f}" if top > 100 else "{:,.1f}" if top > 1 else "{:,.2f}"
        shown = ["n/a" if math.isnan(v) else fmt.format(v) for v in values]
        axis.bar_label(bars, labels=shown, fontsize=8)
        for index, kind in enumerate(kinds):
            if scenario == "stall" and (missing := get(m[kind].get("stall"), "missing")) > 0:
                axis.annotate(
                    f"froze:\n{missing:,.0f}\nnever\narrived",
                    xy=(index, top * 0.05),
                    ha="center",
                    fontsize=7,
                    color="#b3261e",
                )
        axis.set_title(title, fontsize=10)
        axis.tick_params(axis="x", labelsize=8)
        axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_readme(readme: Path, text: str) -> None:
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    content = readme.read_text()
    before, rest = content.split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")
