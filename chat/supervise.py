"""Background chores that never stop by themselves: a failure is logged and the chore restarts."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 30.0


async def supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run `run` for ever; when it fails or returns, log why and start it again after a pause
    that doubles while it keeps failing quickly (up to 30 s)."""
    pause = FIRST_PAUSE
    while True:
        started = time.monotonic()
        try:
            await run()
            log.error("%s stopped by itself; restarting it in %.1f s", name, pause)
        except Exception:
            log.exception("%s failed; restarting it in %.1f s", name, pause)
        ran_well = time.monotonic() - started > LONGEST_PAUSE
        await asyncio.sleep(pause)
        pause = FIRST_PAUSE if ran_well else min(pause * 2, LONGEST_PAUSE)
