"""Project rules that keep holding: pinned assets, no hand-written JS, documented settings."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from chat.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_vendored_files_match_their_recorded_checksums() -> None:
    vendor = ROOT / "static" / "vendor"
    lines = (vendor / "SHA256SUMS").read_text().split("\n")
    recorded = dict(reversed(line.split()) for line in lines if line.strip())
    assert set(recorded) == {"htmx-2.0.11.min.js", "htmx-ext-ws-2.0.4.min.js"}
    for name, digest in recorded.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_no_hand_written_javascript() -> None:
    for template in (ROOT / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "hx-on" not in text and "javascript:" not in text, template
    ours = [
        p
        for p in ROOT.rglob("*.js")
        if "vendor" not in p.parts and not any(part.startswith(".venv") for part in p.parts)
    ]
    assert ours == []


def test_templates_are_autoescaped_html() -> None:
    assert all(p.suffix == ".html" for p in (ROOT / "templates").iterdir())


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`CHAT_{name.upper()}`" in readme, f"CHAT_{name.upper()} is not in the README"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    for args in (("ruff", "check", "."), ("ruff", "format", "--check", ".")):
        result = _tool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
