"""The `chat` command: `chat serve` runs the server."""

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from chat.config import Settings


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
    args = parser.parse_args(argv)
    if args.command == "serve" and args.workers > 1 and settings.broker_url.startswith("memory"):
        parser.error("--workers above 1 needs a shared broker: set CHAT_BROKER_URL=redis://…")
    if args.command == "serve":
        return serve_forever(settings, args.host, args.port, args.workers)
    return 2


def serve_forever(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Run uvicorn with the limits our settings imply."""
    uvicorn.run(
        "chat.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws_max_size=settings.ws_max_size,
        ws_per_message_deflate=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
