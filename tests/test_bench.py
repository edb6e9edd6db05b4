"""`chat bench` and the comparison scripts run (their figures are measured, not tested)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chat.bench.browsers import markers, spread, with_language, with_query
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


def test_markers_are_found_with_the_item_they_sit_in() -> None:
    frame = (
        b'<ul id="msg-list"><li id="msg-7">a ~x~ b bench ~3~100~ pad</li>'
        b'<li id="msg-8">no marker ~~</li><li id="msg-9">bench ~4~200~ and ~5~300~</li></ul>'
    )
    assert markers(frame) == [(7, 3, 100), (9, 4, 200), (9, 5, 300)]
    assert markers(b'42["message",{"text":"bench ~12~34~ x"}]') == [(0, 12, 34)]
    assert markers(b"nothing here ~1~") == []


def test_bench_refuses_unknown_scenarios() -> None:
    result = subprocess.run([CHAT, "bench", "--scenarios=speed"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown scenarios" in result.stderr


@pytest.mark.timeout(600)  # five servers, every scenario: about two minutes
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
    assert set(measured) == {"echo", "naive", "fasthtml", "socketio", "ours"}
    assert measured["ours"]["memory"]["held"] == measured["ours"]["memory"]["connections"]
    for kind, found in measured.items():
        assert found["memory"]["held"] > 0, kind  # a peer may drop one on a loaded machine
        assert found["join"]["pages"] == 10, kind
        if kind != "echo":  # it answers the sender only: it has no fan-out
            assert found["fanout"]["missing"] == found["paced"]["missing"] == 0, kind
            assert found["fanout"]["server_us_per_delivery"] > 0, kind
    assert measured["ours"]["join"]["caught_up"] == 10  # what it sends on connecting arrived
    restarted = measured["ours"]["restart"]
    assert restarted["pages_resynced"] == restarted["pages"] == 10
    assert restarted["missing"] == restarted["duplicates"] == 0
    assert measured["ours"]["most"]["reached"] == measured["ours"]["most"]["connections"]


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


def test_pages_spread_over_servers_languages_and_zones_and_ask_for_theirs() -> None:
    urls = ["http://a/rooms/r", "http://b/rooms/r"]
    assert spread(3, urls[:1], []) == [(urls[0], "", "")] * 3  # none asked: the server's choice
    assert spread(4, urls, ["en", "ru"]) == [
        (urls[0], "en", ""),
        (urls[1], "en", ""),
        (urls[0], "ru", ""),
        (urls[1], "ru", ""),
    ]  # every server gets every language, and the first pages (the senders) cover them all
    assert spread(3, urls[:1], [], ["UTC", "Asia/Tokyo"]) == [
        (urls[0], "", "UTC"),
        (urls[0], "", "Asia/Tokyo"),
        (urls[0], "", "UTC"),
    ]
    both = spread(8, urls, ["en", "ru"], ["UTC", "Asia/Tokyo"])  # independent: every pair
    assert {(url, language, zone) for url, language, zone in both} == {
        (url, language, zone)
        for url in urls
        for language in ("en", "ru")
        for zone in ("UTC", "Asia/Tokyo")
    }
    assert (
        with_language("ws://a/rooms/r/ws?session=s", "ru") == "ws://a/rooms/r/ws?session=s&lang=ru"
    )
    assert with_language("http://a/rooms/r", "ru") == "http://a/rooms/r?lang=ru"
    assert with_language("http://a/rooms/r", "") == "http://a/rooms/r"
    assert with_query("http://a/rooms/r", lang="", tz="Asia/Tokyo") == (
        "http://a/rooms/r?tz=Asia%2FTokyo"
    )


def _variants_script(tmp_path: Path, script: str, header: str) -> dict[str, Any]:
    """Run `tests.bench.SCRIPT --quick`: its saved figures, once its table came out."""
    out = tmp_path / f"{script}.json"
    result = subprocess.run(
        [sys.executable, "-m", f"tests.bench.{script}", "--quick", f"--out={out}"],
        capture_output=True,
        text=True,
        timeout=120,  # a safety bound: it takes about 15 s
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert header in result.stdout
    saved: dict[str, Any] = json.loads(out.read_text())
    return saved


def test_the_languages_script_runs_and_renders_once_per_variant(tmp_path: Path) -> None:
    header = "| | one language (en) | two languages (en, ru) | goal | met |"
    saved = _variants_script(tmp_path, "languages", header)
    for name, languages in {"one": {"en"}, "two": {"en", "ru"}}.items():
        [run] = saved["runs"][name]
        for scenario in ("fanout", "paced"):
            figures = run[scenario]
            assert figures["missing"] == figures["dropped_clients"] == 0, (name, scenario)
            assert figures["one_order"] is True, (name, scenario)
            asked = figures["languages"]
            assert set(asked) == languages, (name, scenario)
            assert all(each["served"] == each["pages"] > 0 for each in asked.values())
        # the room's `pushed` block is rendered once per language in it, not once per page
        assert {variant.split(":")[0] for variant in run["pushed_renders"]} == languages, name
        assert all(count == run["messages"] for count in run["pushed_renders"].values()), name
        assert saved["summary"][name]["once_per_variant"] is True, name


def test_the_zones_script_runs_and_renders_once_per_zone(tmp_path: Path) -> None:
    header = "| | one zone (UTC) | two zones (UTC, Asia/Tokyo) | goal | met |"
    saved = _variants_script(tmp_path, "zones", header)
    for name, zones in {"one": {"UTC"}, "two": {"UTC", "Asia/Tokyo"}}.items():
        [run] = saved["runs"][name]
        for scenario in ("fanout", "paced"):
            figures = run[scenario]
            assert figures["missing"] == figures["dropped_clients"] == 0, (name, scenario)
            asked = figures["zones"]
            assert set(asked) == zones, (name, scenario)
            # every page came on the clocks it asked for (its socket keeps `tz=`)
            assert all(each["served"] == each["pages"] > 0 for each in asked.values())
        # one render of `pushed` per zone in the room and message, whoever reads it
        assert {variant.split(":", 1)[1] for variant in run["pushed_renders"]} == zones, name
        assert all(count == run["messages"] > 0 for count in run["pushed_renders"].values())
        assert saved["summary"][name]["once_per_variant"] is True, name
