"""The Jinja environment: whole pages for HTTP, single blocks for WebSocket pushes.

A designer's folder (`CHAT_TEMPLATES_DIR`) comes first: a template there replaces the built-in
one of the same name, and may extend it as `default:NAME` to change a single block.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    nodes,
    select_autoescape,
)

from chat.context import EVERYONE, Look, Viewer, context

_PACKAGE = Path(__file__).resolve().parent
BUILT_IN = "default"  # `{% extends "default:room.html" %}` names the built-in room.html


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The {name}/ folder is missing: reinstall the chat package")


def _clock(value: Any) -> str:
    """`HH:MM` of a time (an f-string: strftime is several times slower)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def make_environment(overrides: Path | None = None, reload: bool = False) -> Environment:
    """A synchronous, autoescaping environment (templates are `*.html`); `overrides` first."""
    built_in = FileSystemLoader(asset_dir("templates"))
    loaders: list[BaseLoader] = [PrefixLoader({BUILT_IN: built_in}, delimiter=":"), built_in]
    if overrides is not None:
        loaders.insert(0, FileSystemLoader(overrides))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        auto_reload=reload,  # development: templates are re-read when they change
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    return env


class Renderer:
    """Renders templates and their blocks, each with the one documented context; the one place
    HTML is produced."""

    def __init__(self, look: Look, env: Environment | None = None) -> None:
        self.look = look
        self.env = env or make_environment()
        self._chains: dict[str, tuple[Template, list[Template]]] = {}

    def page(self, template: str, room: str = "", viewer: Viewer = EVERYONE, **state: Any) -> str:
        return self.env.get_template(template).render(context(room, viewer, self.look, **state))

    def block(
        self, template: str, block: str, room: str = "", viewer: Viewer = EVERYONE, **state: Any
    ) -> str:
        """One block of `template`, as the page would render it: a block that a designer's
        template overrides, and the blocks it calls (`self.message()`), are the designer's."""
        return self.render_block(template, block, context(room, viewer, self.look, **state))

    def render_block(self, template: str, block: str, context: dict[str, Any]) -> str:
        chain = self._chain(template)
        ctx = chain[0].new_context(context)
        for parent in chain[1:]:
            for name, render in parent.blocks.items():
                ctx.blocks.setdefault(name, []).append(render)
        renders: list[Callable[[Any], Any]] = ctx.blocks.get(block, [])
        if not renders:
            raise KeyError(f"{template} has no block {block!r}")
        try:
            return str(self.env.concat(renders[0](ctx)))
        except Exception:
            self.env.handle_exception()

    def _chain(self, name: str) -> list[Template]:
        """`name` and the templates it extends, most derived first."""
        template = self.env.get_template(name)
        known = self._chains.get(name)
        if known is not None and known[0] is template:  # not reloaded since
            return [template, *known[1]]
        parents: list[Template] = []
        current = name
        while (parent := self._parent(current)) is not None and len(parents) < 10:
            parents.append(self.env.get_template(parent))
            current = parent
        self._chains[name] = (template, parents)
        return [template, *parents]

    def _parent(self, name: str) -> str | None:
        """The name of the template `name` extends, if it names one plainly."""
        if self.env.loader is None:
            return None
        source = self.env.loader.get_source(self.env, name)[0]
        for node in self.env.parse(source).find_all(nodes.Extends):
            if isinstance(node.template, nodes.Const):
                return str(node.template.value)
        return None


def template_problem(error: BaseException) -> str:
    """Where a template failed and why, in a line: `room.html, line 27: 'x' is undefined`."""
    where = ""
    trace = error.__traceback__
    while trace is not None:
        name = trace.tb_frame.f_code.co_filename
        if name.endswith(".html"):
            where = f"{Path(name).name}, line {trace.tb_lineno}"
        trace = trace.tb_next
    lineno = getattr(error, "lineno", None)
    if not where and getattr(error, "name", None):
        where = f"{error.name}, line {lineno}"  # type: ignore[attr-defined]
    return f"{where or 'a template'}: {type(error).__name__}: {error}"
