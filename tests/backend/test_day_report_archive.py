"""The day report of archived days reads the same as before they were archived: KPIs, claims
paid (their amounts live on archived return requests), riders and the reconciliation (which
counts archived `order.created` events), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.archive.schedule import archive_once
from backend.clock import ManualClock
from tests.backend.archive_support import advance, history, ten_days_ago
from tests.backend.test_day_report import settled_claim
from tests.support import Api, started

BUSINESS = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ten_days_ago())


@pytest.fixture
async def api(database_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Api]:
    async for api in started(
        database_url, clock, archive_dir=str(tmp_path / "archive"), archive_seconds=0
    ):
        yield api


async def reports(api: Api, days: list[str]) -> dict[str, Any]:
    seen = {}
    for day in days:
        response = await api.get("supervisor", "/reports/day", params={"day": day})
        assert response.status_code == 200, response.text
        body = response.json()
        body.pop("computed_at")
        seen[day] = body
    return seen


async def test_archived_days_report_the_same(api: Api) -> None:
    first = api.clock.now()
    await api.rider_online(1)
    claimed = await settled_claim(api)
    await history(api, days=2)
    advance(api, days=4)  # every closed order is past the 72 h hot window
    days = sorted(
        {(first + timedelta(hours=h)).astimezone(BUSINESS).date().isoformat() for h in range(72)}
    )
    before = await reports(api, days)
    claims = [b["claims_paid_total"] for b in before.values()]
    assert {"orders": 1, "amount_cents": 450} in claims, claims
    runtime = api.app.state.runtime
    moved = await archive_once(runtime.db, runtime.settings, api.clock)
    assert moved.moved, "nothing was archived"
    gone = await api.get("admin", f"/orders/{claimed['id']}")
    assert gone.status_code == 200  # read back from the archive
    assert await reports(api, days) == before
