"""Readers of one room in different variants (language, time zone), and the renders a push
costs them: the helpers of the tests that pushes are rendered once per variant."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat import rendering
from tests.test_ws import receive_until


def pushed_renders(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The state of every render of the `pushed` block from now on (language, zone, …)."""
    renders: list[dict[str, Any]] = []
    block = rendering.Renderer.block

    def counted(self: Any, template: str, name: str, *args: Any, **state: Any) -> str:
        if name == "pushed":
            language = args[2] if len(args) > 2 else state.get("language")
            renders.append({"language": language, **state})
        return block(self, template, name, *args, **state)

    monkeypatch.setattr(rendering.Renderer, "block", counted)
    return renders


@contextlib.contextmanager
def connected(client: TestClient, sockets: list[tuple[str, dict[str, str]]]) -> Iterator[list[Any]]:
    """Every (address, headers) socket open and caught up (its status received)."""
    with contextlib.ExitStack() as stack:
        opened = [
            stack.enter_context(client.websocket_connect(url, headers=h)) for url, h in sockets
        ]
        for ws in opened:
            receive_until(ws, "#status")
        yield opened
