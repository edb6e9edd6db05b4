"""Languages: the translation catalogs, which one a reader gets, and numbers and dates in it.

Catalogs live in `chat/locale/<code>/LC_MESSAGES/messages.po` (English is the source language);
the wheel carries them compiled (`.mo`), and a checkout compiles a changed `.po` when it loads.
"""

import datetime
import gettext
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_skeleton, format_time, get_relative_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.requests import HTTPConnection

CATALOGS = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE = "en"  # the language the code and templates are written in
LANGUAGE_COOKIE = "chat_language"


def N_(message: str) -> str:
    """Marks `message` for the catalogs; it is translated where it is shown, in the reader's
    language (errors, rules and notices are made before anyone knows who will read them)."""
    return message


@dataclass(frozen=True, eq=False)
class Language:
    """One language people can read the chat in: its catalog and its ways with numbers and
    dates."""

    code: str  # "ru": for <html lang> and the switch
    name: str  # its own name: "Русский"
    translations: gettext.NullTranslations = field(repr=False)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def number(self, value: int | float) -> str:
        """`1,234` in English, `1 234` in Russian."""
        return format_decimal(value, locale=self.code)

    def clock(self, moment: datetime.datetime) -> str:
        """The time of day as this language writes it: `05:46`, `5:46 AM`."""
        return _clock(self.code, moment.hour, moment.minute)

    def day(self, moment: datetime.datetime, today: datetime.date | None = None) -> str:
        """`Today`, `Yesterday` (`Сегодня`, `Вчера`), else `2 December` (and the year when it
        is not this one)."""
        date = moment.date()
        today = today or datetime.datetime.now(moment.tzinfo).date()
        offset = (date - today).days
        if offset in (-1, 0) and (name := get_relative_name("day", offset, locale=self.code)):
            return name[:1].upper() + name[1:]
        if date.year == today.year:
            return format_skeleton("MMMMd", date, locale=self.code)
        return format_date(date, "long", locale=self.code)


@lru_cache(maxsize=4096)
def _clock(code: str, hour: int, minute: int) -> str:
    """Cached: Babel takes ~20 µs a time, and a minute has one answer."""
    return format_time(datetime.time(hour, minute), "short", locale=code)


class Languages:
    """The languages we have catalogs for, and the choice of one for each reader."""

    def __init__(self, default: str = SOURCE, folder: Path = CATALOGS) -> None:
        codes = sorted({SOURCE, *(p.parent.name for p in folder.glob("*/LC_MESSAGES"))})
        self.all: dict[str, Language] = {c: _language(c, folder) for c in codes}
        default = default.lower()
        if default not in self.all:
            raise ValueError(
                f"CHAT_LANGUAGE={default!r}: there is no catalog for it; "
                f"choose one of {', '.join(self.all)}"
            )
        self.default = self.all[default]

    def __iter__(self) -> Iterator[Language]:
        return iter(self.all.values())

    def get(self, code: str | None) -> Language | None:
        """The language of a code as people write it: `ru`, `RU`, `ru-RU`, `ru_RU`."""
        tag = (code or "").strip().lower().replace("_", "-")
        return self.all.get(tag) or self.all.get(tag.split("-")[0])

    def choose(self, asked: str | None, cookie: str | None, accept: str | None) -> Language:
        """What a reader asked for (`?lang=`), else what they chose on the page (the cookie),
        else the best match for their browser's `Accept-Language`, else the default."""
        for code in (asked, cookie):
            if language := self.get(code):
                return language
        wanted = preferred(accept or "")
        best = negotiate_locale(wanted, list(self.all), sep="-") if wanted else None
        return self.all.get(best or "", self.default)

    def of(self, connection: HTTPConnection) -> Language:
        """The language of a request or socket: `?lang=`, the switch's cookie, the browser."""
        return self.choose(
            connection.query_params.get("lang"),
            connection.cookies.get(LANGUAGE_COOKIE),
            connection.headers.get("accept-language"),
        )


def preferred(accept_language: str) -> list[str]:
    """The language tags of an `Accept-Language` header, most wanted first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        tag = tag.strip().lower()  # tags are case-insensitive: `RU`, `ru-ru`
        if tag and tag != "*" and 0 < quality <= 1:
            ranked.append((-quality, order, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _language(code: str, folder: Path) -> Language:
    name = Locale.parse(code).get_display_name(code) or code
    translations = _catalog(code, folder)
    return Language(code=code, name=name[:1].upper() + name[1:], translations=translations)


def _catalog(code: str, folder: Path) -> gettext.NullTranslations:
    """The compiled catalog, or the `.po` compiled now when it is newer (a translator's edit)."""
    if code == SOURCE and not (folder / code).is_dir():
        return gettext.NullTranslations()
    base = folder / code / "LC_MESSAGES" / DOMAIN
    po, mo = base.with_suffix(".po"), base.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    return gettext.GNUTranslations(compile_po(po))


def compile_po(po: Path) -> io.BytesIO:
    """A `.po` catalog compiled to `.mo` bytes (fuzzy entries left out, as gettext does)."""
    with po.open("rb") as source:
        catalog = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return compiled
