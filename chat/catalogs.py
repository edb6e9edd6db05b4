"""The translation catalogs, for translators and CI: gather every string people read from the
code and the templates, merge it into each language's `.po`, and say what is missing.

    python -m chat.catalogs          # refresh chat/locale/messages.pot and every .po
    python -m chat.catalogs --check  # exit 1 if a string is missing or untranslated
"""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from chat.i18n import CATALOGS, DOMAIN, SOURCE

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("chat/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trimmed": "true",  # as the environment's policy: whitespace in {% trans %} collapses
        "trim_blocks": "true",
        "lstrip_blocks": "true",
    }
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract(root: Path = ROOT) -> Catalog:
    """Every string marked for translation in `chat/` and `templates/`."""
    catalog = Catalog(project="chat", domain=DOMAIN, fuzzy=False)
    found = extract_from_dir(
        root, METHODS, OPTIONS, keywords=KEYWORDS, comment_tags=("Translators:",)
    )
    for filename, lineno, message, comments, context in found:
        if filename.startswith("chat/catalogs"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(code: str) -> Path:
    return CATALOGS / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def translated() -> list[str]:
    """The languages with a catalog besides the source language."""
    return sorted(p.parent.name for p in CATALOGS.glob("*/LC_MESSAGES") if p.parent.name != SOURCE)


def update(template: Catalog) -> None:
    """Write the template and merge it into every language's catalog (new strings come in
    empty, gone ones are kept as obsolete for the translator)."""
    with (CATALOGS / f"{DOMAIN}.pot").open("wb") as out:
        write_po(out, template, width=100, omit_header=False, sort_output=True)
    for code in translated():
        with po_path(code).open("rb") as source:
            catalog = read_po(source, locale=code)
        catalog.update(template, update_header_comment=False)
        with po_path(code).open("wb") as out:
            write_po(out, catalog, width=100, sort_output=True, ignore_obsolete=False)


def problems(template: Catalog, code: str) -> Iterator[str]:
    """Each string of `template` that `code`'s catalog lacks, leaves empty or marks fuzzy."""
    with po_path(code).open("rb") as source:
        catalog = read_po(source, locale=code)
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations)
        name = message.id if isinstance(message.id, str) else message.id[0]
        if found is None:
            yield f"{code}: missing {name!r} ({where})"
        elif found.fuzzy:
            yield f"{code}: fuzzy {name!r} ({where})"
        elif not all(found.string) if isinstance(found.string, tuple) else not found.string:
            yield f"{code}: untranslated {name!r} ({where})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chat.catalogs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report what is missing")
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        update(template)
    found = [line for code in translated() for line in problems(template, code)]
    print("\n".join(found) or f"{len(template)} strings, all translated in {translated()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
