"""What the KPI screen shows, narrowed to what."""

from __future__ import annotations

import time
from dataclasses import dataclass

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
