"""Route: the shift handover digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.deps import CanReadHandover
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import Unprocessable
from backend.handover import service
from backend.handover.shifts import Shift, parse_shift_starts, shift_at, shift_before
from backend.kpi.scope import KpiScope
from backend.responses import PROTECTED
from backend.tiers.reads import kpi_session
from backend_client.models import AlertSeverity, HandoverDigest, HandoverKpis, Moment

router = APIRouter(tags=["handover"], responses=PROTECTED)

MAX_HOURS = 7 * 24
"""The longest look back: a handover covers a shift, not a quarter (that is `/kpi`)."""


def window(
    now: datetime, since: datetime | None, hours: float | None, current: Shift, before: Shift
) -> tuple[datetime, datetime]:
    """The digest's start and the start of the window its KPIs are compared with: the shift
    under way and the one before by default; else from `since` (or `hours` back), against
    the window of the same length before it."""
    if since is not None and hours is not None:
        raise Unprocessable("give since or hours, not both")
    if since is None and hours is None:
        return current.start, before.start
    start = since if since is not None else now - timedelta(hours=hours or 0)
    if start >= now:
        raise Unprocessable("the window is empty: since must be in the past (hours above 0)")
    if now - start > timedelta(hours=MAX_HOURS):
        raise Unprocessable(f"a handover looks back at most {MAX_HOURS} hours")
    return start, start - (now - start)


@router.get("/handover", response_model=HandoverDigest)
async def handover(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadHandover,
    since: Annotated[
        Moment | None,
        Query(description="From this instant; default: the start of the shift under way."),
    ] = None,
    hours: Annotated[
        float | None,
        Query(gt=0, le=MAX_HOURS, description="From this many hours ago (instead of since)."),
    ] = None,
) -> HandoverDigest:
    """What the next shift must know: standing critical alerts and warnings, who acknowledged
    what during the shift, returns and claims waiting, riders still out with their orders,
    orders in flight and late, and the shift's KPIs against the shift before."""
    now = clock.now()
    starts, zone = parse_shift_starts(settings.shift_starts), settings.zone
    current = shift_at(now, starts, zone)
    start, previous_start = window(now, since, hours, current, shift_before(current, starts, zone))
    this_shift = KpiScope(start=start, end=now)
    previous = KpiScope(start=previous_start, end=start)
    async with kpi_session(db, settings, previous_start, now) as session:
        this_figures = await service.shift_figures(session, this_shift, now)
        previous_figures = await service.shift_figures(session, previous, now)
    async with db.read() as session:
        by_state, late, late_total = await service.in_flight(session, principal, now)
        opened, resolved = await service.alert_counts(session, principal, start, now)
        return HandoverDigest(
            start=start,
            end=now,
            previous_start=previous_start,
            time_zone=settings.time_zone,
            critical_alerts=await service.standing_alerts(
                session, principal, AlertSeverity.CRITICAL
            ),
            warning_alerts=await service.standing_alerts(session, principal, AlertSeverity.WARNING),
            alerts_opened=opened,
            alerts_resolved=resolved,
            acknowledgements=await service.acknowledgements(session, principal, start, now),
            waiting_requests=await service.waiting_requests(session, principal),
            riders_out=await service.riders_out(session, principal, now),
            in_flight_by_state=by_state,
            late_orders=late,
            late_total=late_total,
            list_limit=service.LIST_LIMIT,
            kpis=HandoverKpis(this_shift=this_figures, previous_shift=previous_figures),
        )
