"""What templates call besides their variables: gettext, the clock, day and number filters in
the reader's language and zone, `urlencode`, and the `within` test."""

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.filters import do_urlencode
from jinja2.runtime import Context
from markupsafe import Markup

from chat.i18n import Language
from chat.inputs import room_url
from chat.sharing import shows_other_at
from chat.text import continuing, found, new_day, parts, within
from chat.zones import local

SAID_KEPT = 4096  # translated sentences kept, in all languages
_SAID: dict[tuple[Language, str, bool], str] = {}


def install(env: Environment) -> None:
    """Give `env` (with Jinja's i18n extension) the functions, filters and tests templates use."""
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(gettext=_gettext, _=_gettext, ngettext=_ngettext)  # unwrapped: see below
    env.filters.update(
        clock=_clock, day=_day, number=_number, parts=parts, found=found, urlencode=_urlencode
    )
    env.tests.update(continuing=continuing, new_day=new_day, within=_within)
    env.globals["room_url"] = room_url


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    """`{% trans %}` and `_()`: in the language of the render, `%(name)s` filled in (escaped).
    Jinja's own newstyle gettext, called directly rather than through two `Context.call`s;
    a sentence without variables is made once per language."""
    language: Language = context["language"]
    if variables:
        return _filled(context, language.gettext(message), variables)
    key = (language, message, context.eval_ctx.autoescape)
    said = _SAID.get(key)
    if said is None:
        if len(_SAID) >= SAID_KEPT:  # only templates' literals, unless one translates data
            _SAID.clear()
        said = _SAID[key] = _filled(context, language.gettext(message), {})
    return said


def _filled(context: Context, said: str, variables: dict[str, Any]) -> str:
    """A translation with its variables, escaped (the catalogs are markup, as in Jinja)."""
    return (Markup(said) if context.eval_ctx.autoescape else said) % variables  # noqa: S704


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    language: Language = context["language"]
    variables.setdefault("num", n)
    return _filled(context, language.ngettext(singular, plural, n), variables)


@pass_context
def _clock(context: Context, moment: Any) -> str:
    """The time of day on the reader's clocks, as their language writes it (`05:46`, `5:46 AM`)."""
    return str(context["language"].clock(local(moment, context["zone"])))


@pass_context
def _day(context: Context, moment: Any) -> str:
    """`Today`, `Yesterday` or the date, in the reader's zone and language."""
    here = local(moment, context["zone"])
    tomorrow = datetime.now(here.tzinfo).date() + timedelta(days=1)  # `Yesterday` from then
    shows_other_at(datetime.combine(tomorrow, datetime.min.time(), here.tzinfo).timestamp())
    return str(context["language"].day(here))


def _within(moment: datetime, seconds: float) -> bool:
    """`is within(seconds)`: the answer changes once, `seconds` after `moment`."""
    still = within(moment, seconds)
    if still:
        shows_other_at(moment.timestamp() + seconds)
    return still


@pass_context
def _number(context: Context, value: Any) -> str:
    """`1,234` or `1 234`."""
    return str(context["language"].number(value))


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    return do_urlencode(text)


def _urlencode(value: Any) -> str:
    """Jinja's `urlencode`; a room's name is quoted once, not at every link of every message."""
    return _quoted(value) if type(value) is str else do_urlencode(value)
