"""`client.kpi`: the KPI summary, series, trouble by reason, and the day's ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from backend_client._transport import Resource, query_params
from backend_client.models import KpiExceptions, KpiSeries, KpiSummary, ReconciliationReport


class Kpi(Resource):
    """KPIs over a window (default: the last 60 minutes), for everything or one place."""

    async def summary(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiSummary:
        params = _window(start, end, channel, warehouse_id, zone)
        return await self._transport.call("GET", "/kpi/summary", KpiSummary, params=params)

    async def series(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket_minutes: int = 15,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiSeries:
        params = _window(start, end, channel, warehouse_id, zone)
        params["bucket_minutes"] = bucket_minutes
        return await self._transport.call("GET", "/kpi/series", KpiSeries, params=params)

    async def exceptions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiExceptions:
        params = _window(start, end, channel, warehouse_id, zone)
        return await self._transport.call("GET", "/kpi/exceptions", KpiExceptions, params=params)

    async def reconciliation(
        self, *, day: date | None = None, tz: str = "UTC"
    ) -> ReconciliationReport:
        """One day's ledger, per channel: what it sent against what we recorded."""
        params = query_params(day=day and day.isoformat(), tz=tz)
        return await self._transport.call(
            "GET", "/kpi/reconciliation", ReconciliationReport, params=params
        )


def _window(
    start: datetime | None,
    end: datetime | None,
    channel: str | None,
    warehouse_id: str | None,
    zone: str | None,
) -> dict[str, Any]:
    return query_params(
        start=start and start.isoformat(),
        end=end and end.isoformat(),
        channel=channel,
        warehouse_id=warehouse_id,
        zone=zone,
    )
