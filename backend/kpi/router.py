"""Routes: KPI figures, their time series, trouble by reason, and the daily reconciliation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query

from backend.auth.deps import CanReadKpi
from backend.clock import Clock
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import Unprocessable
from backend.kpi import service
from backend.kpi.reconciliation import reconcile
from backend.kpi.scope import KpiScope
from backend.responses import PROTECTED
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

router = APIRouter(prefix="/kpi", tags=["kpi"], responses=PROTECTED)
DEFAULT_WINDOW = timedelta(hours=24)

Start = Annotated[Moment | None, Query(description="Window start; default: `end` minus 24 hours.")]
End = Annotated[
    Moment | None, Query(description="Window end (exclusive); default and at most: now.")
]
ChannelFilter = Annotated[Channel | None, Query(description="Only this channel's orders.")]
WarehouseFilter = Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)]
ZoneFilter = Annotated[str | None, Query(max_length=60, pattern=NO_CONTROL_CHARS)]


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


@router.get("/summary", response_model=KpiSummary)
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
) -> KpiSummary:
    """Every KPI of the window, of the window of the same length before it, and per channel.
    The same summary is pushed on the stream's `kpi` topic."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone)
    previous = scope.previous()
    # Archived days are read too, for the window and the one before it (docs/data-tiers.md).
    async with kpi_session(db, settings, previous.start, scope.end) as session:
        return await service.summary(session, scope, now=clock.now())


@router.get("/series", response_model=KpiSeries)
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
) -> KpiSeries:
    """Every KPI bucket by bucket (15 minutes by default), with orders per channel."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone, bucket_minutes)
    async with kpi_session(db, settings, scope.start, scope.end) as session:
        return await service.series(session, scope)


@router.get("/exceptions", response_model=KpiExceptions)
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
) -> KpiExceptions:
    """How often orders ran out of stock, hit an exception, were refused, went to a claim or
    were cancelled in the window, by state and by reason."""
    scope = _scope(clock, start, end, channel, warehouse_id, zone)
    async with kpi_session(db, settings, scope.start, scope.end) as session:
        return await service.exceptions(session, scope)


@router.get("/reconciliation", response_model=ReconciliationReport)
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
) -> ReconciliationReport:
    """Per channel, for one day: what the channel sent against what we recorded (counts and
    amounts, with the channel order ids that differ), and how those orders ended."""
    tz = tz or settings.time_zone
    zone = _zone(tz)
    day = day or clock.now().astimezone(zone).date()
    async with db.read() as session:
        return await reconcile(session, day, zone, tz)


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
