"""Hatch build hook: the wheel carries every catalog compiled (`.mo`), so it works offline and
without Babel's compiler at run time."""

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogs(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        for po in sorted(root.glob("chat/locale/*/LC_MESSAGES/*.po")):
            mo = po.with_suffix(".mo")
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as compiled:
                write_mo(compiled, catalog)
            build_data["force_include"][str(mo)] = str(mo.relative_to(root))
