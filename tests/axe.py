"""axe-core in a real page: inject the axe.min.js that axe-playwright-python bundles into every
frame (Playwright's evaluate is not subject to the page's CSP), run it from the top frame over
the whole page, iframes included, and word its violations so a developer can fix them from a CI
log alone."""

import contextlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

# Everything WCAG 2.0/2.1/2.2 A and AA, and Deque's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
OPTIONS = {
    "runOnly": {"type": "tag", "values": TAGS},
    "resultTypes": ["violations", "incomplete"],  # incomplete: every untested frame
    "iframes": True,
    "frameWaitTime": 10_000,  # a frame that cannot answer is reported (frame-tested), not awaited
}


@cache
def axe_source() -> str:
    """axe-core as axe-playwright-python bundles it (4.12.1 with its 0.1.8)."""
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec is not None and spec.origin is not None, "pip install axe-playwright-python"
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_version() -> str:
    first = axe_source().split("\n", 1)[0]  # "/*! axe v4.12.1"
    return first.removeprefix("/*! axe ").strip()


def load_frames(page: Any, timeout: float = 30_000) -> None:
    """Load every iframe now, lazy ones too (loading="lazy" frames below the fold would stay
    empty, and axe would wait for each in vain): as if someone scrolled through the page."""
    page.evaluate(
        "() => document.querySelectorAll('iframe').forEach(f => { f.loading = 'eager'; })"
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll('iframe')].every(f => {
             const d = f.contentDocument;  // null when blocked or cross-origin: axe reports it
             return d === null || (d.readyState === 'complete' && d.URL !== 'about:blank');
           })""",
        timeout=timeout,
    )


def run(page: Any) -> dict[str, Any]:
    """axe's results for `page` as it is now: violations, and incomplete frame checks."""
    load_frames(page)
    source = axe_source()
    for frame in page.frames:  # the top frame first, then every iframe (nested ones too)
        if frame.is_detached():
            continue
        with contextlib.suppress(Exception):  # a frame we cannot enter: frame-tested reports it
            frame.evaluate(source)
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", OPTIONS)
    return results


def untested_frames(results: dict[str, Any]) -> list[str]:
    """Frames axe could not look into (blocked, cross-origin, not loaded): a page whose content
    was not checked must not pass."""
    return [
        _target(node)
        for check in results.get("incomplete", [])
        if check["id"] == "frame-tested"
        for node in check["nodes"]
    ]


def _target(node: dict[str, Any]) -> str:
    # In a frame, a target is a list of selectors: the iframe's, then the element's inside it.
    parts = [t if isinstance(t, str) else " >>> ".join(t) for t in node["target"]]
    return " >>> ".join(parts)


def describe(results: dict[str, Any], where: str, max_nodes: int = 8) -> str:
    """Every violation: rule, impact, help and its URL, then each offending node's target,
    markup and what axe found wrong with it."""
    lines = [f"{where}: {len(results['violations'])} axe-core rule(s) violated"]
    for violation in results["violations"]:
        nodes = violation["nodes"]
        lines.append(
            f"\n  [{violation['id']}] ({violation['impact']}) {violation['help']}"
            f"\n    {violation['helpUrl']}"
            f"\n    tags: {', '.join(violation['tags'])}; {len(nodes)} node(s)"
        )
        for node in nodes[:max_nodes]:
            html = " ".join(node["html"].split())
            if len(html) > 300:
                html = html[:300] + "…"
            lines.append(f"    - target: {_target(node)}\n      html:   {html}")
            summary = " ".join((node.get("failureSummary") or "").split())
            if summary:
                lines.append(f"      why:    {summary}")
        if len(nodes) > max_nodes:
            lines.append(f"    … and {len(nodes) - max_nodes} more node(s)")
    frames = untested_frames(results)
    if frames:
        lines.append(f"\n  frames axe could not test (their content was not checked): {frames}")
    return "\n".join(lines)
