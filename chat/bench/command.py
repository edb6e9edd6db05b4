"""`chat bench` on the command line; the heavy parts load only when it runs."""

import argparse
from pathlib import Path
from typing import Any

from chat.bench.options import Options


def add_bench(commands: Any, default_url: str) -> None:
    bench = commands.add_parser(
        "bench",
        help="measure a running chat by driving it like many browsers",
        description="Drives a running chat exactly like browsers do (page load, session, "
        "WebSocket with its Origin, htmx's JSON frames) and reports what it sustains. "
        "Load tests come from one address and send fast: run the server with "
        "CHAT_MAX_CONNECTIONS_PER_IP and CHAT_RATE_* raised.",
    )
    bench.add_argument(
        "--url",
        action="append",
        help=f"server (default {default_url}); repeat it for several processes of one chat: "
        "each room's pages are spread evenly over them",
    )
    bench.add_argument("--room", default="bench", help="prefix of the rooms it uses")
    bench.add_argument(
        "--protocol",
        choices=["htmx", "socketio"],
        default="htmx",
        help="what the server speaks: a chat page whose form posts htmx's JSON frames (default), "
        "or Socket.IO v5 over Engine.IO v4 on a plain WebSocket (/socket.io/, for a peer)",
    )
    bench.add_argument(
        "--pid",
        action="append",
        type=int,
        help="the server's process id, to read its memory and CPU (repeat it for several)",
    )
    bench.add_argument(
        "--engine-pid",
        action="append",
        type=int,
        help="a process the server needs (database, broker), to read its CPU and its children's",
    )
    bench.add_argument(
        "--scenarios",
        default="memory,roundtrip,fanout,paced,stall",
        help="comma-separated, from memory,roundtrip,fanout,paced,stall,join,restart "
        "(default memory,roundtrip,fanout,paced,stall)",
    )
    bench.add_argument(
        "--languages",
        default="",
        help="comma-separated language codes (en,ru): pages ask for them in turn with ?lang= on "
        "the page and its socket, so a room is read in several languages (default: none asked, "
        "the server's choice, one language)",
    )
    bench.add_argument(
        "--zones",
        default="",
        help="comma-separated time zones (UTC,Asia/Tokyo): pages ask for them in turn with ?tz= "
        "on the page and its socket, each language with every zone, so a room is read on "
        "several clocks (default: none asked, the server's choice, one zone)",
    )
    defaults = Options(urls=[])
    for flag, kind, meaning in [
        ("clients", int, "browsers in the fan-out room"),
        ("senders", int, "how many of them send"),
        ("duration", float, "seconds each scenario sends for"),
        ("rate", float, "messages a second in the paced scenarios"),
        ("window", int, "messages in flight in the flat-out fan-out"),
        ("size", int, "characters of padding per message"),
        ("idle", int, "idle connections for the memory scenario"),
        ("idle_room_size", int, "idle connections per room"),
        ("stall_clients", int, "browsers in the stall scenario's room"),
        ("stall_rate", float, "messages a second in the stall scenario"),
        ("stall_size", int, "characters of padding per message in the stall scenario"),
        ("stall_duration", float, "seconds each half of the stall scenario sends for"),
        ("history", int, "messages in the join and restart scenarios' rooms"),
    ]:
        default = getattr(defaults, flag)
        bench.add_argument(
            f"--{flag.replace('_', '-')}", type=kind, default=default, help=f"{meaning} ({default})"
        )
    bench.add_argument(
        "--restart-command",
        default="",
        help="a shell command that restarts the server (stops it and starts it again, in the "
        "background), for the restart scenario",
    )
    bench.add_argument("--json", help="also write the results as JSON to this file ('-': stdout)")
    bench.set_defaults(default_url=default_url)


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        from chat.bench.report import SCENARIOS, run_bench
    except ImportError as missing:
        parser.error(f"chat bench needs the bench extra: pip install 'chat[bench]' ({missing})")
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    if unknown := set(names) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    options = Options(
        urls=[url.rstrip("/") for url in args.url or [args.default_url]],
        room=args.room,
        protocol=args.protocol,
        pids=args.pid or [],
        engine_pids=args.engine_pid or [],
        languages=_listed(args.languages),
        zones=_listed(args.zones),
        **{
            f: getattr(args, f)
            for f in Options.__dataclass_fields__
            if f not in {"urls", "room", "protocol", "pids", "engine_pids", "languages", "zones"}
        },
    )
    return run_bench(options, names, Path(args.json) if args.json else None)
