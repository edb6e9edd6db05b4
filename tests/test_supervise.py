"""Background chores restart themselves when they fail, with a growing pause."""

import asyncio
import logging

import pytest

from chat import supervise

pytestmark = pytest.mark.anyio


async def test_a_failing_chore_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervise, "FIRST_PAUSE", 0.01)
    runs: list[int] = []
    healthy = asyncio.Event()

    async def chore() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"bug number {len(runs)}")
        healthy.set()
        await asyncio.Event().wait()  # then runs for ever

    with caplog.at_level(logging.ERROR, logger="chat.supervise"):
        task = asyncio.create_task(supervise.supervised("the chore", chore))
        async with asyncio.timeout(5):
            await healthy.wait()
        task.cancel()
    assert runs == [0, 1, 2]
    assert "bug number 1" in caplog.text and "bug number 2" in caplog.text
    assert "the chore failed; restarting it in 0.0 s" in caplog.text
