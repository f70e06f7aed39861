"""Waiting with a time limit, without `asyncio.wait_for`'s flaw on Python 3.11.

There, a task cancelled in the same turn of the loop as the thing it waits for completes loses
the cancellation: `wait_for` returns the result and the task runs on. A loop of `wait_for` on an
event (a feed, a heartbeat, a simulated rider) then cannot be stopped, and whoever awaits it at
shutdown waits forever. `asyncio.timeout` keeps the cancellation (checked in
`tests/backend_client/test_waiting.py`).

The same trap waits in the usual way of stopping helper tasks, `task.cancel()` then
`with suppress(CancelledError): await task`: a cancellation of the stopper that arrives during
that await is swallowed with the helper's, and the stopper runs on. `cancel_and_wait` is the
way that keeps it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def within(seconds: float | None, awaitable: Awaitable[T]) -> T:
    """`awaitable`'s result, or TimeoutError after `seconds` (None: no limit)."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Whether `event` was set within `seconds`."""
    try:
        await within(seconds, event.wait())
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and wait until each has finished. Their outcomes are read (none is
    reported as never retrieved) and dropped; a cancellation of the caller still goes through."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()
