"""What the KPI screen shows, narrowed to what."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from backend_client.models import KpiExceptions, KpiSeries, KpiSummary


@dataclass(frozen=True)
class KpiScope:
    """What the KPI screen is narrowed to: one warehouse or one zone, or (empty) everything the
    account sees."""

    warehouse_id: str | None = None
    zone: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.warehouse_id or self.zone)

    @property
    def label(self) -> str:
        return self.warehouse_id or self.zone or "everything"


@dataclass
class KpiBoard:
    """What the KPI screen shows, and when (monotonic) each part last arrived."""

    scope: KpiScope = KpiScope()
    summary: KpiSummary | None = None
    summary_at: float | None = None
    series: KpiSeries | None = None
    exceptions: KpiExceptions | None = None
    day_at: float | None = None

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the last summary arrived (None: never)."""
        if self.summary_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.summary_at

    def day_behind(self) -> bool:
        """The newest summary counts more orders created in its window than the day's buckets
        touching that window hold: orders came after the day was fetched, and the charts would
        say "no orders yet" beside a tile counting 9."""
        summary, series = self.summary, self.series
        if summary is None or series is None:
            return False
        if summary.window.start < series.window.start or summary.window.end <= series.window.end:
            return False  # a window the day does not cover whole, or no newer than the day
        bucket = timedelta(minutes=series.bucket_minutes)
        held = sum(
            b.figures.orders for b in series.buckets if b.start + bucket > summary.window.start
        )
        return summary.current.orders > held
