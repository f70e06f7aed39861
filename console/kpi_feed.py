"""Keeps the store's KPI board fresh for the KPI screen and the wall.

Summaries arrive on the stream's `kpi` topic every few seconds. When they stop (the stream is
polling, reconnecting, or the server is slow), or the screen is narrowed to one warehouse or
zone (the stream pushes the account's whole scope), this asks `GET /kpi/summary` itself. The day so
far (15-minute series and trouble by reason, for the charts) is fetched every minute, and
sooner (every `day_behind_every` seconds at most) when a summary counts orders the day does not
hold yet. Every window is on the backend's clock, read first if the live feed has not read it
yet (the demo's is hours from the machine's), and days are cut at the business time zone's
midnight. Failures are logged and retried; the screens show how old the numbers are.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, tzinfo

from backend_client import Backoff, FreshlineClient, FreshlineError
from console.store import KpiScope, Store

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(minutes=60)
"""The summary's window when none was pushed yet (the server's default push window)."""
MIN_DAY = timedelta(minutes=15)
NARROWED_EVERY = 5.0
"""Seconds between summaries asked for while narrowed (the stream's push period)."""


class KpiFeed:
    """Runs beside the live feed while the console watches KPIs."""

    def __init__(
        self,
        client: FreshlineClient,
        store: Store,
        *,
        zone: tzinfo | None = None,
        summary_after: float = 12.0,
        day_every: float = 60.0,
        day_behind_every: float = 5.0,
    ) -> None:
        self.client, self.store, self.zone = client, store, zone
        self.summary_after = summary_after
        """Ask REST for a summary when the stream has pushed none for this long."""
        self.day_every = day_every
        self.day_behind_every = day_behind_every
        """Fetch the day again this soon when the summary shows orders it lacks (bounds the
        cost of a busy day: one series and one trouble query per console this often)."""
        self.backoff = Backoff(base=1.0, cap=30.0)

    async def run(self) -> None:
        """Until cancelled."""
        failures = 0
        while True:
            try:
                await self.tick()
                failures = 0
            except FreshlineError as exc:
                failures += 1
                log.info("KPIs could not be fetched (%r); attempt %d", exc, failures)
            await asyncio.sleep(self.backoff.delay(failures) if failures else 1.0)

    async def tick(self) -> None:
        if not self.store.clock.anchored:
            health = await self.client.health()
            self.store.clock.anchor(health.time, health.clock_speed)
        board = self.store.kpi
        age = board.age()
        due = NARROWED_EVERY if board.scope.active else self.summary_after
        if age is None or age > due:
            await self.refresh_summary()
        board = self.store.kpi
        since_day = None if board.day_at is None else time.monotonic() - board.day_at
        if (
            since_day is None
            or since_day > self.day_every
            or (since_day > self.day_behind_every and board.day_behind())
        ):
            await self.refresh_day()

    async def refresh_all(self) -> None:
        await self.refresh_summary()
        await self.refresh_day()

    async def refresh_summary(self) -> None:
        held = self.store.kpi.summary
        length = held.window.end - held.window.start if held else DEFAULT_WINDOW
        now = self.store.clock.now()
        scope = self.store.kpi.scope
        summary = await self.client.kpi.summary(start=now - length, end=now, **_where(scope))
        self.store.set_kpi(summary, scope)

    async def refresh_day(self) -> None:
        start, end = self.day(self.store.clock.now())
        scope = self.store.kpi.scope
        where = _where(scope)
        series = await self.client.kpi.series(start=start, end=end, bucket_minutes=15, **where)
        exceptions = await self.client.kpi.exceptions(start=start, end=end, **where)
        self.store.set_kpi_day(series, exceptions, scope)

    def day(self, now: datetime) -> tuple[datetime, datetime]:
        """Today since local midnight; just after midnight, the last 24 hours instead."""
        local = now.astimezone(self.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if local - midnight < MIN_DAY:
            return now - timedelta(days=1), now
        return midnight, now


def _where(scope: KpiScope) -> dict[str, str | None]:
    return {"warehouse_id": scope.warehouse_id, "zone": scope.zone}
