"""Runs the scenarios with a progress display; reports a table and JSON."""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chat.bench.joins import joining, restart
from chat.bench.options import Options
from chat.bench.scenarios import (
    fan_out,
    idle_memory,
    round_trip,
    stalled_reader,
)
from chat.limits import raise_open_files_limit

Scenario = Callable[[Options, Callable[[str, int, int], None]], Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, Scenario] = {
    "memory": idle_memory,
    "roundtrip": round_trip,
    "fanout": lambda o, p: fan_out(o, p, paced=False),
    "paced": lambda o, p: fan_out(o, p, paced=True),
    "stall": stalled_reader,
    "join": joining,
    "restart": lambda o, p: restart(o, p, lambda: run_command(o.restart_command)),
}
COLUMNS = {
    "memory": [
        ("connections", "{:,}"),
        ("held", "{:,}"),
        ("reached", "{:,}"),
        ("bytes_per_connection", "{:,.0f} B"),
    ],
    "roundtrip": [
        ("messages_per_s", "{:,.0f}/s"),
        ("p50_ms", "{:.2f} ms"),
        ("p99_ms", "{:.2f} ms"),
    ],
    "fanout": [
        ("deliveries_per_s", "{:,.0f}/s"),
        ("messages_per_s", "{:,.0f}/s"),
        ("p50_ms", "{:.1f} ms"),
        ("p99_ms", "{:.1f} ms"),
        ("one_order", "{}"),
        ("server_us_per_delivery", "{:.2f} µs"),
        ("load_cpu", "{:.2f} cores"),
        ("limited_by", "{}"),
    ],
    "paced": [
        ("deliveries_per_s", "{:,.0f}/s"),
        ("p50_ms", "{:.1f} ms"),
        ("p99_ms", "{:.1f} ms"),
        ("one_order", "{}"),
    ],
    "join": [
        ("pages", "{:,}"),
        ("join_s", "{:.2f} s"),
        ("caught_up", "{:,}"),
        ("server_ms_per_join", "{:.2f} ms"),
    ],
    "restart": [
        ("pages_resynced", "{:,}"),
        ("back_s", "{:.2f} s"),
        ("since_restart_s", "{:.2f} s"),
        ("missing", "{:,}"),
        ("duplicates", "{:,}"),
    ],
    "stall": [
        ("p99_ms", "{:.1f} ms"),
        ("p99_ratio", "{:.2f}x"),
        ("cut_off_s", "{:.1f} s"),
        ("missing", "{:,}"),
        ("server_growth_mb", "{:.1f} MB"),
    ],
}


async def run_command(command: str) -> None:
    """Run a shell command (the restart scenario's `--restart-command`) to its end."""
    if not command:
        raise ValueError("the restart scenario needs --restart-command (how to restart the server)")
    process = await asyncio.create_subprocess_shell(command)
    if await process.wait():
        raise OSError(f"the restart command failed ({process.returncode}): {command}")


async def run_all(options: Options, names: list[str], console: Console) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        for name in names:
            task = progress.add_task(name, total=None)

            def report(
                what: str, done: int, total: int, task: Any = task, name: str = name
            ) -> None:
                progress.update(task, description=f"{name}: {what}", completed=done, total=total)

            try:
                results[name] = await SCENARIOS[name](options, report)
            except (OSError, ValueError) as error:
                results[name] = {"error": f"{type(error).__name__}: {error}"}
            progress.remove_task(task)
            console.print(f"[green]✓[/] {name}: {_summary(name, results[name])}")
    return results


def _summary(name: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"[red]{result['error']}[/]"
    return ", ".join(
        f"{key} {_shown(fmt, result[key])}"
        for key, fmt in COLUMNS[name]
        if result.get(key) is not None
    )


def _shown(fmt: str, value: Any) -> str:
    """A figure as the table shows it: `fmt`, a yes/no, or each item of a list."""
    if isinstance(value, bool):
        return "yes" if value else "[red]no[/]"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(fmt, item) for item in value) + "]"
    if isinstance(value, float) and fmt == "{}":
        return f"{value:,.1f}"
    return fmt.format(value)


def table(results: dict[str, Any]) -> Table:
    view = Table(title="chat bench")
    for column in ("scenario", "figures", "other"):
        view.add_column(column)
    for name, result in results.items():
        shown = {key for key, _ in COLUMNS[name]}
        other = ", ".join(
            f"{k} {_shown('{}', v)}" for k, v in result.items() if k not in shown and k != "error"
        )
        view.add_row(name, _summary(name, result), other)
    return view


def run_bench(options: Options, names: list[str], json_path: Path | None) -> int:
    """Run the scenarios in order; print a table; write JSON to `json_path` ('-': stdout)."""
    raise_open_files_limit()
    console = Console(stderr=True)
    results = asyncio.run(run_all(options, names, console))
    console.print(table(results))
    document = {"url": options.url, "options": vars(options), "results": results}
    if json_path is not None:
        text = json.dumps(document, indent=2)
        if str(json_path) == "-":
            sys.stdout.write(text + "\n")
        else:
            json_path.write_text(text + "\n")
    return 1 if any("error" in r for r in results.values()) else 0
