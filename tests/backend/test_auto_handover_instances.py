"""Exactly once across instances: two backend instances on one PostgreSQL database see the same
accident at the same moment; one proposal is made, and it is carried out once (one move of the
order, one audit event), whichever instance's loop gets there first."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import func, select

from backend.clock import ManualClock
from backend.realtime.models import EventRow
from backend.takeover.models import TakeoverRow
from tests.backend.test_auto_handover import WAIT, order_of
from tests.backend.test_incident import accident
from tests.conftest import truncate_all
from tests.support import Api, started

pytestmark = pytest.mark.slow  # PostgreSQL, two apps


async def count(api: Api, kind: str) -> int:
    async with api.app.state.runtime.db.read() as session:
        found = await session.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.kind == kind)
        )
    return int(found or 0)


async def test_one_accident_seen_by_two_instances_is_handed_over_once(postgres_url: str) -> None:
    await truncate_all(postgres_url)
    clock = ManualClock()
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(2):
            opened = started(postgres_url, clock)
            apps.append(await anext(opened))
            stack.push_async_callback(opened.aclose)
        a, b = apps
        order, _ = await accident(a)
        loops = [api.app.state.runtime.takeovers for api in apps]

        # Both see the accident at once, several times over: one proposal.
        passes = await asyncio.gather(*(loop.sweep() for loop in loops * 3))
        assert sum(p["proposed"] for p in passes) == 1
        async with b.app.state.runtime.db.read() as session:
            (row,) = (await session.scalars(select(TakeoverRow))).all()
        assert row.state == "proposed"

        # Both find it due at the same moment: carried out once.
        clock.advance(seconds=WAIT.total_seconds())
        passes = await asyncio.gather(*(loop.sweep() for loop in loops * 3))
        assert sum(p["carried_out"] for p in passes) == 1, passes
        assert sum(p["failed"] for p in passes) == 0, passes
        moved = await order_of(b, order["id"])
        assert moved["rider_id"] == 2 and moved["status"] == "DELIVERING"
        assert await count(a, "takeover.proposed") == 1
        assert await count(a, "takeover.carried_out") == 1
        story = (await a.get("admin", f"/orders/{order['id']}/timeline")).json()
        assert len([e for e in story if e["kind"] == "order.assigned" and e["rider_id"] == 2]) == 1
