"""`chat bench` and the comparison scripts run (their figures are measured, not tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ChatServer, PostgresServer, RedisServer
from tests.terminals import CHAT

LIFTED = {
    "CHAT_MAX_CONNECTIONS_PER_IP": "100000",
    "CHAT_RATE_PER_SECOND": "100000",
    "CHAT_RATE_BURST": "100000",
    "CHAT_PING_INTERVAL": "1",  # the stalled reader is cut off within the short stall run
}


def test_chat_bench_runs_every_scenario_and_reports_figures(tmp_path: Path) -> None:
    server = ChatServer(tmp_path, **LIFTED).start()
    out = tmp_path / "bench.json"
    assert server.process is not None
    try:
        result = subprocess.run(
            [
                CHAT,
                "bench",
                f"--url={server.url}",
                f"--pid={server.process.pid}",
                "--clients=20",
                "--senders=5",
                "--idle=60",
                "--idle-room-size=20",
                "--duration=1",
                "--stall-clients=5",
                "--stall-rate=20",
                "--stall-duration=4",
                f"--json={out}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "chat bench" in result.stderr  # the table
    found = json.loads(out.read_text())["results"]
    assert set(found) == {"memory", "roundtrip", "fanout", "paced", "stall"}
    assert found["memory"]["held"] == found["memory"]["reached"] == 60
    assert found["roundtrip"]["count"] > 0 and found["roundtrip"]["p99_ms"] > 0
    for scenario in ("fanout", "paced", "stall"):
        figures = found[scenario]
        assert figures["missing"] == figures["dropped_clients"] == 0, scenario
        assert figures["deliveries"] == figures["messages"] * figures["clients"] > 0, scenario
    assert found["stall"]["cut_off_s"] is not None  # the stalled browser was reset


@pytest.mark.redis
@pytest.mark.postgres
def test_bench_drives_one_room_over_two_processes_and_sees_one_order(
    tmp_path: Path, postgres: PostgresServer, redis_server: RedisServer
) -> None:
    shared = {"CHAT_DATABASE_URL": postgres.url, "CHAT_BROKER_URL": redis_server.url}
    servers = [ChatServer(tmp_path, **LIFTED, **shared).start() for _ in range(2)]
    out = tmp_path / "bench.json"
    try:
        result = subprocess.run(
            [
                CHAT,
                "bench",
                *(f"--url={server.url}" for server in servers),
                *(f"--pid={server.process.pid}" for server in servers if server.process),
                "--scenarios=fanout,paced",
                "--room=two-processes",
                "--clients=10",
                "--senders=4",
                "--duration=1",
                "--rate=50",
                f"--json={out}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for server in servers:
            server.stop()
    assert result.returncode == 0, result.stderr
    found = json.loads(out.read_text())["results"]
    for scenario in ("fanout", "paced"):
        figures = found[scenario]
        assert figures["servers"] == len(figures["server_cpu"]) == 2, scenario
        assert figures["messages"] > 0, scenario
        assert figures["pages_complete"] == figures["clients"] == 10, scenario
        assert figures["missing"] == figures["duplicates"] == 0, scenario
        assert figures["orders"] == 1 and figures["ids_increasing"], scenario
        assert figures["store_order"] is True and figures["one_order"] is True, scenario


def test_bench_refuses_unknown_scenarios() -> None:
    result = subprocess.run([CHAT, "bench", "--scenarios=speed"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown scenarios" in result.stderr


def test_the_comparison_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.compare", "--quick", f"--out={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| target | goal | measured | met |" in result.stdout
    assert (tmp_path / "bench.png").stat().st_size > 0
    measured = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert set(measured) == {"echo", "naive", "ours"}


@pytest.mark.redis
@pytest.mark.postgres
def test_the_cluster_script_runs(postgres: PostgresServer, redis_server: RedisServer) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.cluster",
            "--quick",
            f"--postgres={postgres.url}",
            f"--redis={redis_server.url}",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| | one process | two processes | goal | met |" in result.stdout
