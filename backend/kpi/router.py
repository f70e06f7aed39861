"""Routes: KPI figures, their time series, trouble by reason, and the daily reconciliation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query
from starlette.responses import Response

from backend.auth.deps import CanReadKpi
from backend.clock import Clock
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import Unprocessable
from backend.kpi import service
from backend.kpi.reconciliation import reconcile
from backend.kpi.scope import KpiScope
from backend.kpi.tables import (
    ExportFormat,
    Table,
    encoded,
    exceptions_table,
    file_name,
    reconciliation_table,
    series_table,
    summary_table,
)
from backend.responses import PROTECTED, Responses
from backend.tiers.reads import kpi_session
from backend_client.models import (
    NO_CONTROL_CHARS,
    Channel,
    Day,
    KpiExceptions,
    KpiSeries,
    KpiSummary,
    Moment,
    ReconciliationReport,
)

EXPORTED: Responses = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON by default; CSV or Parquet with `format` (docs/reports.md).",
    }
}
router = APIRouter(prefix="/kpi", tags=["kpi"], responses=PROTECTED)
DEFAULT_WINDOW = timedelta(hours=24)

Start = Annotated[Moment | None, Query(description="Window start; default: `end` minus 24 hours.")]
End = Annotated[
    Moment | None, Query(description="Window end (exclusive); default and at most: now.")
]
ChannelFilter = Annotated[Channel | None, Query(description="Only this channel's orders.")]
WarehouseFilter = Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)]
ZoneFilter = Annotated[str | None, Query(max_length=60, pattern=NO_CONTROL_CHARS)]
FormatChoice = Annotated[
    ExportFormat,
    Query(description="`json` (default), or a file: `csv` or `parquet` (docs/reports.md)."),
]


def _export(table: Table, format: ExportFormat, name: str) -> Response:
    """The table as a downloadable file of the format asked for."""
    body, media_type, extension = encoded(table, format)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{extension}"'},
    )


def _scope(
    clock: Clock,
    start: datetime | None,
    end: datetime | None,
    channel: Channel | None,
    warehouse_id: str | None,
    zone: str | None,
    bucket_minutes: int = 15,
) -> KpiScope:
    return service.scope_for(
        now=clock.now(),
        start=start,
        end=end,
        default_length=DEFAULT_WINDOW,
        channel=channel,
        warehouse_id=warehouse_id,
        zone=zone,
        bucket_minutes=bucket_minutes,
    )


@router.get("/summary", response_model=KpiSummary, responses=EXPORTED)
async def kpi_summary(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    _principal: CanReadKpi,
    start: Start = None,
    end: End = None,
    channel: ChannelFilter = None,
    warehouse_id: WarehouseFilter = None,
    zone: ZoneFilter = None,
    format: FormatChoice = ExportFormat.JSON,
) -> KpiSummary | Response:
    """Every KPI of the window, of the window of the same length before it, and per channel.
    The same summary is pushed on the stream's `kpi` topic."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone)
    previous = scope.previous()
    # Archived days are read too, for the window and the one before it (docs/data-tiers.md).
    async with kpi_session(db, settings, previous.start, scope.end) as session:
        summary = await service.summary(session, scope, now=clock.now())
    if format == ExportFormat.JSON:
        return summary
    return _export(summary_table(summary), format, file_name("kpi-summary", scope.start, scope.end))


@router.get("/series", response_model=KpiSeries, responses=EXPORTED)
async def kpi_series(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    _principal: CanReadKpi,
    start: Start = None,
    end: End = None,
    channel: ChannelFilter = None,
    warehouse_id: WarehouseFilter = None,
    zone: ZoneFilter = None,
    bucket_minutes: Annotated[
        int, Query(ge=1, le=1440, description="Bucket length; buckets start at `start`.")
    ] = 15,
    format: FormatChoice = ExportFormat.JSON,
) -> KpiSeries | Response:
    """Every KPI bucket by bucket (15 minutes by default), with orders per channel."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone, bucket_minutes)
    async with kpi_session(db, settings, scope.start, scope.end) as session:
        series = await service.series(session, scope)
    if format == ExportFormat.JSON:
        return series
    return _export(series_table(series), format, file_name("kpi-series", scope.start, scope.end))


@router.get("/exceptions", response_model=KpiExceptions, responses=EXPORTED)
async def kpi_exceptions(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    _principal: CanReadKpi,
    start: Start = None,
    end: End = None,
    channel: ChannelFilter = None,
    warehouse_id: WarehouseFilter = None,
    zone: ZoneFilter = None,
    format: FormatChoice = ExportFormat.JSON,
) -> KpiExceptions | Response:
    """How often orders ran out of stock, hit an exception, were refused, went to a claim or
    were cancelled in the window, by state and by reason."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone)
    async with kpi_session(db, settings, scope.start, scope.end) as session:
        trouble = await service.exceptions(session, scope)
    if format == ExportFormat.JSON:
        return trouble
    return _export(
        exceptions_table(trouble), format, file_name("kpi-exceptions", scope.start, scope.end)
    )


@router.get("/reconciliation", response_model=ReconciliationReport, responses=EXPORTED)
async def kpi_reconciliation(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    _principal: CanReadKpi,
    day: Annotated[
        Day | None, Query(description="The local day; default: today in that time zone.")
    ] = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=NO_CONTROL_CHARS,
            description="The day's time zone: an IANA name (Asia/Shanghai) or an offset "
            "(+08:00); default: the business time zone (`GET /health` says which).",
        ),
    ] = None,
    format: FormatChoice = ExportFormat.JSON,
) -> ReconciliationReport | Response:
    """Per channel, for one day: what the channel sent against what we recorded (counts and
    amounts, with the channel order ids that differ), and how those orders ended."""
    tz = tz or settings.time_zone
    zone = _zone(tz)
    day = day or clock.now().astimezone(zone).date()
    async with db.read() as session:
        report = await reconcile(session, day, zone, tz)
    if format == ExportFormat.JSON:
        return report
    return _export(reconciliation_table(report), format, file_name("kpi-reconciliation", day))


def _zone(name: str) -> tzinfo:
    """An IANA zone or a fixed offset like +08:00; Unprocessable for anything else."""
    if name[:1] in "+-" and len(name) == 6 and name[3] == ":":
        try:
            hours, minutes = int(name[1:3]), int(name[4:6])
        except ValueError:
            hours = minutes = 99
        if hours <= 14 and minutes < 60:
            sign = 1 if name[0] == "+" else -1
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    else:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise Unprocessable(f"unknown time zone {name!r}: give an IANA name or an offset like +08:00")
