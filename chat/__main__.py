"""The `chat` command: `serve` runs the server, `client` chats from a terminal, `demo` runs bots,
`bench` measures a running server."""

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from chat.bench.command import add_bench, bench
from chat.client import socket_url
from chat.config import Settings
from chat.errors import ChatError
from chat.inputs import room_name
from chat.limits import raise_open_files_limit
from chat.logs import log_config


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(
        prog="chat", description="A real-time chat rendered on the server."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the chat server")
    serve.add_argument(
        "--host", default=settings.host, help=f"address to bind (default {settings.host})"
    )
    serve.add_argument(
        "--port", type=int, default=settings.port, help=f"port (default {settings.port})"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (needs Redis)"
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="development: restart on code changes, re-read templates and CSS as they change, "
        "show template errors on the page, serve the gallery at /gallery",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=settings.forwarded_allow_ips,
        help="comma-separated addresses or networks of the reverse proxies to trust for "
        "X-Forwarded-Proto and X-Forwarded-For ('*': any; default "
        f"{settings.forwarded_allow_ips})",
    )
    default_url = f"http://127.0.0.1:{settings.port}"
    client = commands.add_parser("client", help="chat in a room from this terminal")
    client.add_argument("room", nargs="?", default="lobby", help="room to join (default lobby)")
    client.add_argument("--url", default=default_url, help=f"server (default {default_url})")
    client.add_argument("--name", help="display name to ask for (default: one is generated)")
    demo = commands.add_parser("demo", help="run friendly bots that chat in a room")
    demo.add_argument("room", nargs="?", default="lobby", help="room to chat in (default lobby)")
    demo.add_argument("--url", default=default_url, help=f"server (default {default_url})")
    demo.add_argument("--bots", type=int, default=3, help="how many bots (default 3)")
    demo.add_argument(
        "--pace", type=float, default=6.0, help="seconds between a bot's lines, on average"
    )
    add_bench(commands, default_url)
    args = parser.parse_args(argv)
    if args.command == "bench":
        return bench(parser, args)
    if args.command == "serve":
        if args.workers > 1 and settings.broker_url.startswith("memory"):
            parser.error("--workers above 1 needs a shared broker: set CHAT_BROKER_URL=redis://…")
        # Workers build their app from the environment: they must see the same setting.
        os.environ["CHAT_FORWARDED_ALLOW_IPS"] = args.forwarded_allow_ips
        settings.forwarded_allow_ips = args.forwarded_allow_ips
        if args.reload:
            if args.workers > 1:
                parser.error("--reload runs one process: leave out --workers")
            os.environ["CHAT_DEVELOPMENT"] = "true"
            settings.development = True
        return serve_forever(settings, args.host, args.port, args.workers)
    try:
        room = room_name(args.room)
        socket_url(args.url, room)
    except ChatError as error:
        parser.error(error.message)
    except ValueError as error:
        parser.error(str(error))
    if args.command == "client":
        from chat.terminal import run_client

        return run_client(args.url, room, args.name)
    if args.bots < 1 or args.pace <= 0:
        parser.error("--bots must be 1 or more and --pace above 0")
    from chat.demo import run_demo
    from chat.terminal import Printer

    return run_demo(args.url, room, args.bots, args.pace, Printer(sys.stdout, sys.stderr, False))


def serve_forever(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Run uvicorn with our WebSocket protocol and the limits our settings imply."""
    raise_open_files_limit()
    uvicorn.run(
        "chat.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=settings.development,
        reload_dirs=[str(Path(__file__).parent)] if settings.development else None,
        reload_includes=["*.py", "*.po"] if settings.development else None,  # a translator's edit
        http="chat.http:ChatHttpProtocol",  # httptools with a bounded request head
        ws="chat.sockets:ChatWebSocketProtocol",
        ws_max_size=settings.ws_max_size,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_interval,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        timeout_graceful_shutdown=5,
        proxy_headers=True,  # uvicorn's own: scheme and client address from trusted proxies
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
