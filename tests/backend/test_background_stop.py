"""Stopping the backend's loops cannot hang: a loop stopped while it is itself stopping
another (the webhook deliverer stopping a courier) still stops, and no code of the product
uses the two ways of waiting that lose a cancellation on Python 3.11."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from backend.background import BackgroundLoop
from tests.support import one_turn

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("backend", "backend_client", "console", "screens", "widgets")


class Courier(BackgroundLoop):
    """Slow to say goodbye, as a courier closing its connection is."""

    def __init__(self) -> None:
        super().__init__()
        self.leaving = asyncio.Event()
        self.release = asyncio.Event()

    async def _run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            self.leaving.set()
            await self.release.wait()


class Deliverer(BackgroundLoop):
    """Stops its courier inside its own pass, then would go on for ever."""

    def __init__(self, courier: Courier) -> None:
        super().__init__()
        self.courier = courier
        self.ran_on = False

    async def _run(self) -> None:
        await self.courier.stop()
        self.ran_on = True
        await asyncio.Event().wait()


async def test_a_loop_stopped_while_it_stops_another_stops() -> None:
    courier = Courier()
    courier.start()
    await one_turn()
    deliverer = Deliverer(courier)
    deliverer.start()
    await courier.leaving.wait()  # the deliverer is inside the courier's stop now
    stopping = asyncio.create_task(deliverer.stop())
    await one_turn()  # the deliverer's cancellation is delivered while it waits
    courier.release.set()
    # Only a bound, so that a lost cancellation fails instead of hanging the suite.
    done, _ = await asyncio.wait({stopping}, timeout=10)
    assert done, "the deliverer swallowed its own cancellation and ran on"
    assert not deliverer.ran_on


def _losing_waits(tree: ast.AST) -> list[int]:
    """Lines calling `asyncio.wait_for(...)` or entering `suppress(...CancelledError)`."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        swallows = name.endswith("suppress") and any(
            ast.unparse(arg).endswith("CancelledError") for arg in node.args
        )
        if name == "asyncio.wait_for" or swallows:
            lines.append(node.lineno)
    return lines


def test_the_product_never_waits_in_a_way_that_loses_a_cancellation() -> None:
    """`backend_client.within` / `wait_event` instead of `asyncio.wait_for`, and
    `cancel_and_wait` instead of `cancel()` + `suppress(CancelledError)` (backend_client's
    `_waiting.py` says why)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in _losing_waits(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert found == []
