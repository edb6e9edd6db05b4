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
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from chat.context import EVERYONE, Look, Viewer, context
from chat.i18n import Language, Languages
from chat.inputs import room_url
from chat.text import continuing, found, new_day, parts, within
from chat.zones import local

_PACKAGE = Path(__file__).resolve().parent
BUILT_IN = "default"  # `{% extends "default:room.html" %}` names the built-in room.html


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The {name}/ folder is missing: reinstall the chat package")


@pass_context
def _gettext(context: Context, message: str) -> str:
    """`{% trans %}` and `_()`: in the language of the render."""
    language: Language = context["language"]
    return language.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    language: Language = context["language"]
    return language.ngettext(singular, plural, n)


@pass_context
def _clock(context: Context, moment: Any) -> str:
    """The time of day on the reader's clocks, as their language writes it (`05:46`, `5:46 AM`)."""
    return str(context["language"].clock(local(moment, context["zone"])))


@pass_context
def _day(context: Context, moment: Any) -> str:
    """`Today`, `Yesterday` or the date, in the reader's zone and language."""
    return str(context["language"].day(local(moment, context["zone"])))


@pass_context
def _number(context: Context, value: Any) -> str:
    """`1,234` or `1 234`."""
    return str(context["language"].number(value))


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
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(clock=_clock, day=_day, number=_number, parts=parts, found=found)
    env.tests.update(continuing=continuing, new_day=new_day, within=within)
    env.globals["room_url"] = room_url
    return env


class Renderer:
    """Renders templates and their blocks, each with the one documented context; the one place
    HTML is produced."""

    def __init__(
        self, look: Look, env: Environment | None = None, languages: Languages | None = None
    ) -> None:
        self.look = look
        self.env = env or make_environment()
        self.languages = languages or Languages()
        self._chains: dict[str, tuple[Template, list[Template]]] = {}

    def page(
        self,
        template: str,
        room: str = "",
        viewer: Viewer = EVERYONE,
        language: Language | None = None,
        **state: Any,
    ) -> str:
        values = self._context(room, viewer, language, state)
        return self.env.get_template(template).render(values)

    def block(
        self,
        template: str,
        block: str,
        room: str = "",
        viewer: Viewer = EVERYONE,
        language: Language | None = None,
        **state: Any,
    ) -> str:
        """One block of `template`, as the page would render it: a block that a designer's
        template overrides, and the blocks it calls (`self.message()`), are the designer's."""
        return self.render_block(template, block, self._context(room, viewer, language, state))

    def _context(
        self, room: str, viewer: Viewer, language: Language | None, state: dict[str, Any]
    ) -> dict[str, Any]:
        language = language or self.languages.default
        return context(room, viewer, self.look, language, list(self.languages), **state)

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
