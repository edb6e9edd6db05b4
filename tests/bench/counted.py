"""`chat serve` that counts its template renders, so a bench can check "once per variant".

    python -m tests.bench.counted serve --port 8000     (any `chat serve` arguments; one worker)

It is the ordinary server (nothing in chat/ changes), with `Renderer.block` wrapped to count
each render by block, language and time zone (the `zone=` a format renders with; "-" when a
render names none), and one more route, `GET /_bench/renders`, that returns the counts as JSON:
`{"pushed:en:UTC": 1200, "pushed:en:Asia/Tokyo": 1200, "status:en:UTC": 8, ...}`. The count
costs one dictionary increment per render (a render, not a delivery), far below a render's own
cost.
Not for production: the route is unauthenticated.
"""

import sys
from collections import Counter
from typing import Any

import chat.app
from chat.__main__ import main
from chat.context import EVERYONE, Viewer
from chat.i18n import Language
from chat.rendering import Renderer

RENDERS_PATH = "/_bench/renders"
RENDERS: Counter[str] = Counter()
_block = Renderer.block
_create_app = chat.app.create_app


def _counted_block(
    self: Renderer,
    template: str,
    block: str,
    room: str = "",
    viewer: Viewer = EVERYONE,
    language: Language | None = None,
    **state: Any,
) -> str:
    zone = getattr(state.get("zone"), "key", "-")
    RENDERS[f"{block}:{(language or self.languages.default).code}:{zone}"] += 1
    return _block(self, template, block, room, viewer, language, **state)


def _renders() -> dict[str, int]:
    return dict(RENDERS)


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The chat's app, with `GET /_bench/renders` first among its routes."""
    app = _create_app(*args, **kwargs)
    app.add_api_route(RENDERS_PATH, _renders, methods=["GET"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())
    return app


Renderer.block = _counted_block  # type: ignore[method-assign]
chat.app.create_app = create_app  # uvicorn's factory "chat.app:create_app" finds this one


if __name__ == "__main__":
    sys.exit(main())
