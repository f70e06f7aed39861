"""Waiting with a time limit, without `asyncio.wait_for`'s flaw on Python 3.11.

There, a task cancelled in the same turn of the loop as the thing it waits for completes loses
the cancellation: `wait_for` returns the result and the task runs on. A loop of `wait_for` on an
event (a feed, a heartbeat, a simulated rider) then cannot be stopped, and whoever awaits it at
shutdown waits forever. `asyncio.timeout` keeps the cancellation (checked in
`tests/backend_client/test_waiting.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

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
