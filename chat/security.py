"""Security headers (a strict CSP with a per-response style nonce) and Origin checks."""

import logging
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.errors import Forbidden
from chat.i18n import N_

log = logging.getLogger(__name__)

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
FRAMED = "/gallery/"  # pages other pages of ours may show in a frame


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
                path = scope["path"]
                policy = DOCS_CSP if path in DOCS_PATHS else CSP.format(nonce=nonce)
                framed = path.startswith(FRAMED)  # the gallery frames its own specimens
                if framed:
                    policy = policy.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
                if headers.get("content-type", "").startswith("text/html"):
                    # pages are in the reader's language; htmx gets a part of one
                    headers["Vary"] = "Accept-Language, Cookie, HX-Request"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def own_origin(connection: HTTPConnection) -> str:
    """Scheme (after uvicorn's trusted-proxy handling) and Host, as the page's origin."""
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    return f"{scheme}://{Headers(scope=connection.scope).get('host', '')}"


def same_origin(origin: str, own: str) -> bool:
    """`origin` is ours. A Host without a port (nginx's `Host $host`) names the host but not
    the public port, so then any port of the same scheme and host name is ours (cookies do not
    tell ports apart either)."""
    if origin == own:
        return True
    theirs, ours = urlsplit(origin), urlsplit(own)
    if ours.port is not None or ":" in ours.netloc.rsplit("]", 1)[-1]:
        return False
    return bool(ours.hostname) and (theirs.scheme, theirs.hostname) == (
        ours.scheme,
        ours.hostname,
    )


def check_origin(
    connection: HTTPConnection, allowed: Iterable[str], *, required: bool = False
) -> None:
    """Refuse browsers' cross-site requests: the Origin (or Referer) must be ours or allowed.

    Non-browser clients send neither header and carry the page's secret session id instead;
    a request that only the browser's cookie authorises (`required`) must send one.
    """
    origin = connection.headers.get("origin")
    if origin is None and (referer := connection.headers.get("referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        if not required:
            return
        origin = "(none)"
    own = own_origin(connection)
    if same_origin(origin, own) or origin in set(allowed):
        return
    client = connection.client.host if connection.client else "?"
    forwarded = connection.headers.get("x-forwarded-proto")
    if forwarded is None:
        source = "the connection"
    elif own.startswith(forwarded.strip().replace("ws", "http") + "://"):
        source = "X-Forwarded-Proto"
    else:
        source = f"the connection: X-Forwarded-Proto from {client} is not trusted"
    log.warning(
        "refused a request to %s from origin %s: expected %s (scheme from %s; host from the "
        "Host header; client %s). Behind a proxy, trust it with CHAT_FORWARDED_ALLOW_IPS and "
        "pass Host and X-Forwarded-Proto; other sites' pages go in CHAT_ALLOWED_ORIGINS.",
        connection.url.path,
        origin,
        own,
        source,
        client,
    )
    raise Forbidden(
        N_(
            "This page's address ({origin}) is not the address the chat server knows itself "
            "by ({own}), so it refused the request. If you run this chat, see the server log "
            "and 'Deploying' in the README; otherwise tell whoever runs it."
        ),
        code="bad_origin",
        origin=origin,
        own=own,
    )
