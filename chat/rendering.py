"""The Jinja environment: whole pages for HTTP, single blocks for WebSocket pushes.

A designer's folder (`CHAT_TEMPLATES_DIR`) comes first: a template there replaces the built-in
one of the same name, and may extend it as `default:NAME` to change a single block.
"""

from collections.abc import Callable, Iterator
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
from jinja2.runtime import Context, new_context

from chat import template_functions
from chat.context import EVERYONE, Look, Viewer, context
from chat.i18n import Language, Languages
from chat.sharing import Kept, Shared, SharedBlocks

_PACKAGE = Path(__file__).resolve().parent
BUILT_IN = "default"  # `{% extends "default:room.html" %}` names the built-in room.html


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The {name}/ folder is missing: reinstall the chat package")


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
    env.context_class = _Context
    template_functions.install(env)
    return env


class _Context(Context):
    """Jinja's context, but the contexts it derives (for each scoped block, and each call made
    where a block set a variable) share its blocks rather than copy every one of them: nothing
    changes them once blocks render (`extends` acts at the top of a template, before)."""

    def derived(self, locals: dict[str, Any] | None = None) -> Context:
        context = new_context(self.environment, self.name, {}, self.get_all(), True, None, locals)
        context.eval_ctx = self.eval_ctx
        context.blocks = self.blocks
        return context


class Renderer:
    """Renders templates and their blocks, each with the one documented context; the one place
    HTML is produced."""

    def __init__(
        self, look: Look, env: Environment | None = None, languages: Languages | None = None
    ) -> None:
        self.look = look
        self.env = env or make_environment()
        self.languages = languages or Languages()
        self._chains: dict[str, tuple[Template, list[Template], dict[str, Any]]] = {}
        self.shared = SharedBlocks()

    def page(
        self,
        template: str,
        room: str = "",
        viewer: Viewer = EVERYONE,
        language: Language | None = None,
        shared: Shared | None = None,
        **state: Any,
    ) -> str:
        return self.page_body(template, room, viewer, language, shared, **state).decode()

    def page_body(
        self,
        template: str,
        room: str = "",
        viewer: Viewer = EVERYONE,
        language: Language | None = None,
        shared: Shared | None = None,
        **state: Any,
    ) -> bytes:
        """The page, encoded for a response (UTF-8); a shared block goes in as it was encoded
        when it was kept."""
        chain = self._chain(template)
        ctx = self._new_context(template, self._context(room, viewer, language, state))
        used: list[Kept] = []
        if shared is not None and not self.look.development:  # development: templates change
            self._share(ctx, chain, shared, used)
        body: list[bytes] = []
        run: list[str] = []
        try:
            for piece in chain[0].root_render_func(ctx):
                if used and piece is used[-1].html:
                    body += ["".join(run).encode(), used[-1].encoded]
                    run.clear()
                else:
                    run.append(piece)
        except Exception:
            self.env.handle_exception()
        body.append("".join(run).encode())
        return b"".join(body)

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

    def shared_block(
        self,
        template: str,
        shared: Shared,
        room: str,
        language: Language,
        **state: Any,
    ) -> str:
        """`block(template, shared.block, ...)` for everyone, rendered once for all who get the
        same `shared.state` (with the same people, clocks and template)."""
        context = self._context(room, EVERYONE, language, state)
        present = context.get("present")
        if self.look.development or not isinstance(present, dict):
            return self.render_block(template, shared.block, context)
        key = (self._chain(template)[0], shared.block, shared.key)  # a reloaded template: anew
        return self.shared.kept(
            key,
            shared.state,
            present,
            lambda named: self.render_block(template, shared.block, {**context, "present": named}),
        ).html

    def _context(
        self, room: str, viewer: Viewer, language: Language | None, state: dict[str, Any]
    ) -> dict[str, Any]:
        language = language or self.languages.default
        return context(room, viewer, self.look, language, list(self.languages), **state)

    def render_block(self, template: str, block: str, context: dict[str, Any]) -> str:
        chain = self._chain(template)
        ctx = self._new_context(template, context)
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

    def _new_context(self, name: str, values: dict[str, Any]) -> Context:
        """`template.new_context(values)` (call `_chain(name)` first), with the template's
        globals read once rather than from their ChainMap at every render."""
        template, _, globals_ = self._chains[name]
        return new_context(self.env, name, template.blocks, {**globals_, **values}, shared=True)

    def _share(self, ctx: Context, chain: list[Template], shared: Shared, used: list[Kept]) -> None:
        """Render `shared.block` of this page as an earlier page of the same key rendered it,
        when that still shows the same; else render it, and keep it for the next pages."""
        if not any(shared.block in each.blocks for each in chain):
            return
        key, state = (chain[0], shared.block, shared.key), shared.state  # a reloaded template: anew

        def reuse(context: Context) -> Iterator[str]:
            render = context.blocks[shared.block][1]  # the page's own (then its `super()`s)
            present = context.resolve_or_missing("present")
            viewer = context.resolve_or_missing("viewer")
            if viewer is not EVERYONE or not isinstance(present, dict):  # not one for all
                yield from render(context)
                return
            kept = self.shared.kept(
                key,
                state,
                present,
                lambda named: str(self.env.concat(render(context.derived({"present": named})))),
            )
            used.append(kept)
            yield kept.html

        ctx.blocks[shared.block] = [reuse, *ctx.blocks.get(shared.block, [])]

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
        self._chains[name] = (template, parents, dict(template.globals))
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
