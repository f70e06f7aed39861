"""The day report, put together from the KPI service (the same figures as `/kpi/summary` over the
day), the alerts, the settled claims, the riders' signed orders and the reconciliation.

The day is cut at local midnight in the business time zone (`settings.time_zone`), as the
reconciliation and the proof exports cut theirs. A merchant's report covers their warehouse:
every section is filtered by it, and the channels' reconciliation (which spans warehouses) is
left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, tzinfo
from statistics import fmean

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import AlertRow
from backend.auth.models import UserRow
from backend.errors import Unprocessable
from backend.inventory.models import WarehouseRow
from backend.kpi import service as kpi
from backend.kpi.orders import count_if
from backend.kpi.reconciliation import day_bounds, reconcile
from backend.kpi.scope import KpiScope
from backend.kpi.sql import epoch
from backend.orders.models import OrderRow
from backend.returns.models import ReturnRequestRow
from backend.riders.models import RiderRow
from backend_client.models import (
    AlertDeskLine,
    AlertRuleLine,
    Channel,
    ClaimsLine,
    DayReport,
    KpiFigures,
    LedgerLine,
    ReportKpis,
    RequestKind,
    RequestState,
    RiderLine,
)


def day_window(day: date, zone: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """The day's [start, end) in UTC; Unprocessable for a day that has not begun."""
    start, end = day_bounds(day, zone)
    if start >= now:
        raise Unprocessable(f"{day.isoformat()} has not begun yet in the business time zone")
    return start, end


async def day_report(
    session: AsyncSession,
    *,
    day: date,
    zone: tzinfo,
    zone_name: str,
    now: datetime,
    warehouse_id: str | None = None,
) -> DayReport:
    """Every section of the day's report; `warehouse_id` narrows it to one warehouse."""
    start, end = day_window(day, zone, now)
    scope = KpiScope(start=start, end=min(end, now), warehouse_id=warehouse_id)
    total = await alerts_of(session, scope)
    claims = await claims_paid(session, scope)
    return DayReport(
        day=day,
        tz=zone_name,
        start=start,
        end=end,
        complete=end <= now,
        warehouse_id=warehouse_id,
        kpis=await kpis(session, scope),
        alerts_by_rule=total[0],
        alerts_by_desk=total[1],
        claims_paid=claims,
        claims_paid_total=LedgerLine(
            orders=sum(line.claims for line in claims),
            amount_cents=sum(line.amount_cents for line in claims),
        ),
        riders=await riders_on_time(session, scope),
        reconciliation=(
            None if warehouse_id is not None else await reconcile(session, day, zone, zone_name)
        ),
        computed_at=now,
    )


async def kpis(session: AsyncSession, scope: KpiScope) -> list[ReportKpis]:
    """The total over the report's warehouses, then per warehouse its total and its channels
    (a merchant's report: their warehouse only, which is then also the total)."""
    lines: list[ReportKpis] = []
    if scope.warehouse_id is None:
        total, per_channel = await kpi.figures_by_channel(session, scope)
        lines.append(ReportKpis(channel=None, warehouse_id=None, figures=total))
        lines += _per_channel(None, per_channel)
        warehouses = list(await session.scalars(select(WarehouseRow.id).order_by(WarehouseRow.id)))
    else:
        warehouses = [scope.warehouse_id]
    for warehouse in warehouses:
        narrowed = KpiScope(start=scope.start, end=scope.end, warehouse_id=warehouse)
        total, per_channel = await kpi.figures_by_channel(session, narrowed)
        lines.append(ReportKpis(channel=None, warehouse_id=warehouse, figures=total))
        lines += _per_channel(warehouse, per_channel)
    return lines


def _per_channel(warehouse: str | None, figures: dict[str, KpiFigures]) -> list[ReportKpis]:
    return [
        ReportKpis(channel=channel, warehouse_id=warehouse, figures=figures[channel])
        for channel in Channel
        if channel in figures
    ]


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


async def alerts_of(
    session: AsyncSession, scope: KpiScope
) -> tuple[list[AlertRuleLine], list[AlertDeskLine]]:
    """Alerts opened during the day, per rule and per rule and acknowledging account: how many
    were acknowledged and resolved (by now), and how long that took."""
    a = AlertRow
    query = (
        select(a.rule, a.opened_at, a.acknowledged_by, a.acknowledged_at, a.resolved_at)
        .where(a.opened_at >= scope.start, a.opened_at < scope.end)
        .order_by(a.rule)
    )
    if scope.warehouse_id is not None:
        query = query.where(a.warehouse_id == scope.warehouse_id)
    rows = (await session.execute(query)).all()
    users = {row.acknowledged_by for row in rows if row.acknowledged_by}
    roles: dict[str, str] = {}
    if users:
        known = select(UserRow.username, UserRow.role).where(UserRow.username.in_(users))
        roles = {row.username: row.role for row in await session.execute(known)}
    per_rule: dict[str, list] = defaultdict(list)
    per_desk: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        per_rule[row.rule].append(row)
        if row.acknowledged_by and row.acknowledged_at is not None:
            per_desk[(row.rule, row.acknowledged_by)].append(row)
    by_rule = []
    for rule, alerts in per_rule.items():
        acked = [_minutes(r.acknowledged_at, r.opened_at) for r in alerts if r.acknowledged_at]
        resolved = [_minutes(r.resolved_at, r.opened_at) for r in alerts if r.resolved_at]
        by_rule.append(
            AlertRuleLine(
                rule=rule,
                opened=len(alerts),
                acknowledged=len(acked),
                resolved=len(resolved),
                acknowledge_minutes_avg=fmean(acked) if acked else None,
                acknowledge_minutes_max=max(acked, default=None),
                resolve_minutes_avg=fmean(resolved) if resolved else None,
                resolve_minutes_max=max(resolved, default=None),
            )
        )
    by_desk = []
    for (rule, user), alerts in sorted(per_desk.items()):
        acked = [_minutes(r.acknowledged_at, r.opened_at) for r in alerts]
        resolved = [_minutes(r.resolved_at, r.opened_at) for r in alerts if r.resolved_at]
        by_desk.append(
            AlertDeskLine(
                rule=rule,
                user=user,
                role=roles.get(user),
                acknowledged=len(acked),
                acknowledge_minutes_avg=fmean(acked),
                resolved=len(resolved),
                resolve_minutes_avg=fmean(resolved) if resolved else None,
            )
        )
    return by_rule, by_desk


async def claims_paid(session: AsyncSession, scope: KpiScope) -> list[ClaimsLine]:
    """Orders whose damage claim was settled (paid out) during the day, with what the approved
    claims paid, per warehouse and channel."""
    o, r = OrderRow, ReturnRequestRow
    paid = (
        select(r.order_id, func.sum(r.amount_cents).label("amount_cents"))
        .where(r.kind == RequestKind.CLAIM, r.state == RequestState.APPROVED)
        .group_by(r.order_id)
        .subquery()
    )
    query = (
        select(
            o.warehouse_id,
            o.channel,
            func.count().label("claims"),
            func.coalesce(func.sum(paid.c.amount_cents), 0).label("amount_cents"),
        )
        .select_from(o)
        .outerjoin(paid, paid.c.order_id == o.id)
        .where(o.claim_settled_at >= scope.start, o.claim_settled_at < scope.end)
        .group_by(o.warehouse_id, o.channel)
        .order_by(o.warehouse_id, o.channel)
    )
    if scope.warehouse_id is not None:
        query = query.where(o.warehouse_id == scope.warehouse_id)
    return [
        ClaimsLine(
            warehouse_id=row.warehouse_id,
            channel=Channel(row.channel),
            claims=int(row.claims),
            amount_cents=int(row.amount_cents),
        )
        for row in await session.execute(query)
    ]


async def riders_on_time(session: AsyncSession, scope: KpiScope) -> list[RiderLine]:
    """Each rider's orders signed during the day: how many, on time, paid-to-signed minutes
    (the rider on the order when it was signed)."""
    o = OrderRow
    paid = func.coalesce(o.paid_at, o.created_at)
    query = (
        select(
            o.rider_id,
            RiderRow.name,
            func.count().label("signed"),
            count_if(o.signed_at <= o.promised_at).label("on_time"),
            func.avg((epoch(o.signed_at) - epoch(paid)) / 60.0).label("minutes"),
        )
        .join(RiderRow, RiderRow.id == o.rider_id)
        .where(and_(o.signed_at >= scope.start, o.signed_at < scope.end, *scope.order_filters()))
        .group_by(o.rider_id, RiderRow.name)
        .order_by(o.rider_id)
    )
    lines = []
    for row in await session.execute(query):
        signed, on_time = int(row.signed), int(row.on_time)
        lines.append(
            RiderLine(
                rider_id=row.rider_id,
                name=row.name,
                signed=signed,
                on_time=on_time,
                on_time_rate=on_time / signed,
                delivery_minutes_avg=None if row.minutes is None else float(row.minutes),
            )
        )
    return lines
