"""Security headers (a strict CSP with a per-response style nonce) and Origin checks."""

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.errors import Forbidden

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN with an inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = {"/docs", "/redoc"}


class SecurityHeaders:
    """Adds CSP and friends to every HTTP response; pages read their nonce from `request.state`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                policy = DOCS_CSP if scope["path"] in DOCS_PATHS else CSP.format(nonce=nonce)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def own_origin(connection: HTTPConnection) -> str:
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    return f"{scheme}://{Headers(scope=connection.scope).get('host', '')}"


def check_origin(connection: HTTPConnection, allowed: Iterable[str]) -> None:
    """Refuse browsers' cross-site requests: the Origin (or Referer) must be ours or allowed.

    Non-browser clients send neither header and carry the page's secret session id instead.
    """
    origin = connection.headers.get("origin")
    if origin is None and (referer := connection.headers.get("referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        return
    if origin != own_origin(connection) and origin not in set(allowed):
        raise Forbidden("Cross-site requests are not accepted.", code="bad_origin")
