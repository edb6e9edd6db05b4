"""CPU used over a run by the load tool itself, the servers, the engines they need and the rest
of the machine: when the load tool is near one full core, it (not the server) is the limit;
when the rest is large, someone else's work shared the machine."""

import time
from typing import Any

import psutil


def _busy(times: Any) -> tuple[float, float]:
    """Seconds the machine's cores were busy, and in all, since boot."""
    total = float(sum(times))
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _tree(pid: int) -> dict[int, float]:
    """CPU seconds of a process and each of its descendants (a database's backends), by pid."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    found: dict[int, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        found[process.pid] = times.user + times.system
    return found


class Usage:
    """Started when made; `shares()` says what each used since, in cores (1.0: one core)."""

    def __init__(self, servers: list[int], engines: list[int]) -> None:
        self.servers, self.engines = servers, engines
        self.before = {pid: _tree(pid) for pid in {*servers, *engines}}
        self.wall = time.perf_counter()
        self.own = time.process_time()
        self.machine = _busy(psutil.cpu_times())

    def _used(self, pid: int, wall: float) -> float:
        before, after = self.before[pid], _tree(pid)
        return sum(seconds - before.get(child, 0.0) for child, seconds in after.items()) / wall

    def shares(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        busy, total = _busy(psutil.cpu_times())
        machine = (busy - self.machine[0]) / max(total - self.machine[1], 1e-9)
        machine *= psutil.cpu_count() or 1
        load = (time.process_time() - self.own) / wall
        servers = [self._used(pid, wall) for pid in self.servers]
        engines = [self._used(pid, wall) for pid in self.engines]
        found: dict[str, Any] = {"load_cpu": load, "machine_cpu": machine}
        if servers:
            found["server_cpu"] = servers
            found["server_cpu_s"] = sum(servers) * wall
        if engines:
            found["engine_cpu"] = engines
        if servers or engines:
            found["other_cpu"] = max(0.0, machine - load - sum(servers) - sum(engines))
        found["limited_by"] = limit(found)
        return found


FULL = 0.9  # of a core: a single-threaded process this busy can go no faster


def limit(shares: dict[str, Any]) -> str:
    """What held the run back, from its CPU shares: "load tool" (its one thread was busy),
    "server" (a server's was), "machine" (every core was, between them), or "" (none was:
    the scenario's own pace or window set the speed)."""
    cores = psutil.cpu_count() or 1
    if shares["load_cpu"] >= FULL:
        return "load tool"
    if any(share >= FULL for share in shares.get("server_cpu", [])):
        return "server"
    if shares["machine_cpu"] >= FULL * cores:
        return "machine"
    return ""
