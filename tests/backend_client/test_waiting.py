"""`within` keeps a cancellation that `asyncio.wait_for` loses on Python 3.11."""

from __future__ import annotations

import asyncio

import pytest

from backend_client import cancel_and_wait, wait_event, within
from tests.support import one_turn


async def loop_on(event: asyncio.Event) -> None:
    """Wait for the event again and again, as a feed or a heartbeat does."""
    while True:
        await wait_event(event, 5)
        event.clear()


async def test_a_loop_cancelled_as_its_event_is_set_stops() -> None:
    for _ in range(50):
        event = asyncio.Event()
        task = asyncio.create_task(loop_on(event))
        await one_turn()  # the task is waiting on the event now
        event.set()
        task.cancel()  # in the same turn as the event: wait_for would lose this
        # Stopping takes one turn of the loop; the bound is only there to fail, not to hang,
        # if the cancellation was lost.
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done, "the cancelled loop went on"
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_within_answers_or_times_out() -> None:
    assert await within(1, asyncio.sleep(0, result="done")) == "done"
    with pytest.raises(TimeoutError):
        await within(0.01, asyncio.Event().wait())
    event = asyncio.Event()
    assert not await wait_event(event, 0.01)
    event.set()
    assert await wait_event(event, 0.01)


async def test_a_task_stopped_while_it_stops_its_helpers_stops() -> None:
    """The caller of `cancel_and_wait` is cancelled while a helper is still finishing: the
    caller's cancellation goes through (`suppress(CancelledError)` around the await lost it)."""
    release = asyncio.Event()

    async def helper() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # a slow goodbye, as closing a socket is

    async def worker(started: asyncio.Event) -> str:
        helping = asyncio.create_task(helper())
        try:
            started.set()
            await asyncio.sleep(0)
        finally:
            await cancel_and_wait(helping)
        return "ran on"

    started = asyncio.Event()
    task = asyncio.create_task(worker(started))
    await started.wait()
    await one_turn()  # the worker is in cancel_and_wait now, the helper saying goodbye
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=10)  # only a bound, so a lost cancel fails
    release.set()
    assert done and task.cancelled(), "the stopped worker ran on"


async def test_cancel_and_wait_reads_what_its_tasks_ended_with() -> None:
    async def fails() -> None:
        raise RuntimeError("read, not reported")

    failing = asyncio.create_task(fails())
    sleeping = asyncio.create_task(asyncio.Event().wait())
    await one_turn()
    await cancel_and_wait(failing, sleeping)
    assert failing.done() and sleeping.cancelled()
    await cancel_and_wait()  # nothing to wait for is no error
