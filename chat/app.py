"""The application: one constructor for the CLI, uvicorn `--factory` and every test."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

import chat
from chat import actions, gallery, pages, ws
from chat.broker import open_broker
from chat.changes import Changes
from chat.config import Settings
from chat.context import Look
from chat.error_pages import error_pages
from chat.errors import ChatError
from chat.formats import Formats
from chat.hub import Hub
from chat.i18n import Languages
from chat.limits import Buckets
from chat.logs import redact_session_ids
from chat.rendering import Renderer, asset_dir, make_environment
from chat.rooms import Chat
from chat.security import SecurityHeaders
from chat.services import Services
from chat.sessions import Sessions
from chat.store import open_store
from chat.supervise import supervised
from chat.zones import Zones

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the chat app from `settings` (default: read from `CHAT_*` environment variables)."""
    settings = settings or Settings()
    look = Look.of(settings)
    languages = Languages(settings.language)
    environment = make_environment(settings.templates_dir, settings.development)
    renderer = Renderer(look, environment, languages)
    redact_session_ids()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.database_url)
        broker = open_broker(settings.broker_url, settings.presence_timeout)
        await store.start()
        await broker.start()
        secret = settings.secret_key or await store.secret()
        sessions = Sessions(
            store, secret, settings.session_ttl, settings.max_sessions, settings.session_expiry
        )
        hub = Hub(broker, settings.history_size, store)
        chat_ = Chat(store, broker, sessions, settings)
        app.state.services = Services(
            settings=settings,
            store=store,
            broker=broker,
            sessions=sessions,
            chat=chat_,
            changes=Changes(store, settings, chat_.publish),
            hub=hub,
            renderer=renderer,
            languages=languages,
            zones=Zones(settings.time_zone),
            formats=Formats(renderer, languages),
            searches=Buckets(settings.rate_per_second, settings.rate_burst),
        )
        broker.on_resync = hub.resync_soon
        app.state.services.chat.on_unpublished = hub.resync_room
        services = app.state.services
        chores = [
            asyncio.create_task(
                supervised("the heartbeat", lambda: hub.heartbeat_forever(settings.heartbeat))
            ),
            asyncio.create_task(supervised("presence upkeep", lambda: _presence_forever(services))),
            asyncio.create_task(supervised("session upkeep", lambda: _sessions_forever(services))),
        ]
        # Start-up objects (modules, templates, the app) live as long as the process: keep
        # them out of every full collection (with 1,000 connections that takes ~40% of it).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
            await broker.close()
            await store.close()

    app = FastAPI(title="chat", version=chat.__version__, lifespan=lifespan)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(ws.router)
    if settings.gallery_on:
        app.include_router(gallery.router)
    app.mount("/static", Assets(settings.static_dir, settings.development), name="static")
    app.add_middleware(SecurityHeaders)
    error_pages(app, renderer, languages)
    return app


async def _presence_forever(services: Services) -> None:
    """Keep this process's people online in the shared broker; announce those of dead ones."""
    interval = services.settings.presence_timeout / 3
    while True:
        await asyncio.sleep(interval)
        try:
            for room, members in services.hub.online().items():
                await services.broker.keep_alive(room, members)
            await services.chat.sweep()
        except Exception:  # the broker is away: try again next round
            log.warning("presence upkeep failed", exc_info=True)


async def _sessions_forever(services: Services) -> None:
    """Keep connected sessions fresh in the store and delete the ones nobody uses any more."""
    settings = services.settings
    interval = min(settings.session_ttl, settings.session_expiry, 600) / 4
    while True:
        await asyncio.sleep(interval)
        try:
            await services.sessions.upkeep(services.hub.connected_keys())
        except ChatError:  # the database is away: try again next round
            log.warning("session upkeep failed: the database is not answering")


class Assets(StaticFiles):
    """Our static files; a designer's folder (`CHAT_STATIC_DIR`) first, file by file. In
    development the browser asks again on every load (a 304 when unchanged), so CSS edits show
    on a plain reload."""

    def __init__(self, overrides: Path | None, development: bool) -> None:
        self.overrides = overrides
        self.development = development
        super().__init__(directory=asset_dir("static"))

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        if self.development:
            response.headers["Cache-Control"] = "no-cache"
        return response

    def get_directories(self, directory: Any = None, packages: Any = None) -> list[Any]:
        built_in = super().get_directories(directory, packages)
        return [self.overrides, *built_in] if self.overrides else built_in
