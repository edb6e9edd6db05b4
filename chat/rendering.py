"""The Jinja environment: whole pages for HTTP, single blocks for WebSocket pushes."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The {name}/ folder is missing: reinstall the chat package")


def _clock(value: Any) -> str:
    """`HH:MM` of a time (an f-string: strftime is several times slower)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def make_environment(templates: Path | None = None) -> Environment:
    """A synchronous, autoescaping environment (templates are `*.html`)."""
    env = Environment(
        loader=FileSystemLoader(templates or asset_dir("templates")),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        auto_reload=False,  # no stat() of the template file on every render; restart to reload
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    return env


class Renderer:
    """Renders templates and their blocks; the one place HTML is produced."""

    def __init__(self, env: Environment | None = None) -> None:
        self.env = env or make_environment()

    def page(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def block(self, template: str, block: str, **context: Any) -> str:
        return render_block(self.env, template, block, **context)
