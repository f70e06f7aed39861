"""`client.reports`: the day report, as a model or as the file the backend renders."""

from __future__ import annotations

from datetime import date
from typing import Literal

from backend_client._transport import Resource, query_params
from backend_client.models import DayReport

ReportFile = Literal["md", "csv", "pdf"]


class Reports(Resource):
    """One business day on a page (docs/reports.md)."""

    async def day(self, *, day: date | None = None, warehouse_id: str | None = None) -> DayReport:
        """The day's report (default: today so far, in the business time zone)."""
        params = query_params(day=day and day.isoformat(), warehouse_id=warehouse_id)
        return await self._transport.call("GET", "/reports/day", DayReport, params=params)

    async def day_file(
        self,
        format: ReportFile,
        *,
        day: date | None = None,
        warehouse_id: str | None = None,
    ) -> bytes:
        """The same report rendered by the backend: Markdown, CSV or PDF, as bytes."""
        params = query_params(day=day and day.isoformat(), warehouse_id=warehouse_id, format=format)
        return await self._transport.content("/reports/day", params=params)
