"""The business time zone is the backend's: one setting (`time_zone`), served on /health so every
console and wall shows the same clock, and where business days cut at midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from backend.app import create_app
from backend.channels.reconciliation import day_bounds
from backend.settings import Settings
from tests.support import Api

IN_MEMORY = "sqlite+aiosqlite:///:memory:"


async def health_of(settings: Settings) -> dict:
    transport = httpx.ASGITransport(app=create_app(settings))  # /health needs no database
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/api/v1/health")).json()


async def test_health_serves_the_business_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRESHLINE_TIME_ZONE", raising=False)
    monkeypatch.delenv("FRESHLINE_CONFIG", raising=False)
    assert (await health_of(Settings(database_url=IN_MEMORY)))["time_zone"] == "Asia/Shanghai"
    monkeypatch.setenv("FRESHLINE_TIME_ZONE", "Europe/Lisbon")
    assert (await health_of(Settings(database_url=IN_MEMORY)))["time_zone"] == "Europe/Lisbon"


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(database_url=IN_MEMORY, time_zone="Mars/Olympus")


def test_a_business_day_cuts_at_the_zones_midnight() -> None:
    start, end = day_bounds(date(2026, 11, 22), ZoneInfo("Asia/Shanghai"))
    assert (start, end) == (
        datetime(2026, 11, 21, 16, tzinfo=UTC),
        datetime(2026, 11, 22, 16, tzinfo=UTC),
    )
    # Across a DST change the day is 23 hours long, not a fixed offset's 24.
    start, end = day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Lisbon"))
    assert (end - start).total_seconds() == 23 * 3600


async def test_the_kpi_reconciliation_day_is_today_in_the_business_zone(api: Api) -> None:
    api.clock.advance(hours=10)  # 20:00 UTC on the 22nd
    response = await api.get("viewer", "/kpi/reconciliation")
    assert response.status_code == 200, response.text
    report = response.json()
    # 04:00 on the 23rd in Beijing: that is the business day, not the 22nd in UTC.
    assert (report["tz"], report["day"]) == ("Asia/Shanghai", "2026-11-23")
    assert report["start"].startswith("2026-11-22T16:00")
