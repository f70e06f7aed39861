"""The digest put together: standing alerts and the shift's acknowledgements (event log),
requests waiting, riders out, orders in flight and late, and the KPIs against the shift
before (the same figures `/kpi` serves). Every part is read in the caller's scope."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import AlertRow
from backend.alerts.service import alert_scope, list_alerts
from backend.auth.principal import Principal
from backend.kpi import service as kpi
from backend.kpi.scope import KpiScope
from backend.orders.lifecycle import FINAL_STATES, RIDER_FREE_STATES
from backend.orders.models import OrderRow
from backend.orders.scope import order_scope
from backend.realtime.models import EventRow
from backend.returns.service import list_requests
from backend.riders.models import RiderRow
from backend_client.models import (
    AlertSeverity,
    HandoverAcknowledgement,
    HandoverAlert,
    HandoverLateOrder,
    HandoverRequest,
    HandoverRider,
    KpiFigures,
    OrderState,
    RequestState,
)

LIST_LIMIT = 200
"""The most items one list of the digest holds: a handover is read by a person."""

IN_FLIGHT = sorted(str(s) for s in set(OrderState) - FINAL_STATES - {OrderState.CREATED})
"""Paid and not yet in a final state: the orders the next shift inherits (an unpaid order is
the customer's, not the desk's)."""

CARRIED = sorted(str(s) for s in set(OrderState) - RIDER_FREE_STATES - {OrderState.CREATED})
"""States in which an assigned rider still has the order with them or waiting for them."""


async def standing_alerts(
    session: AsyncSession, principal: Principal, severity: AlertSeverity
) -> list[HandoverAlert]:
    rows = await list_alerts(session, principal, severity=severity, limit=LIST_LIMIT)
    return [HandoverAlert.model_validate(row, from_attributes=True) for row in rows]


async def alert_counts(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> tuple[int, int]:
    """Alerts opened, and alerts resolved, in [start, end], from the event log (`end` is now:
    what happened this instant counts)."""
    visible = select(AlertRow.id).where(alert_scope(principal))
    counts = dict.fromkeys(("alert.opened", "alert.resolved"), 0)
    query = (
        select(EventRow.kind, EventRow.payload)
        .where(EventRow.kind.in_(list(counts)), EventRow.at >= start, EventRow.at <= end)
        .order_by(EventRow.id)
    )
    events = (await session.execute(query)).all()
    ids = {int(payload["id"]) for _, payload in events}
    seen = set((await session.scalars(visible.where(AlertRow.id.in_(ids)))).all()) if ids else set()
    for kind, payload in events:
        if int(payload["id"]) in seen:
            counts[kind] += 1
    return counts["alert.opened"], counts["alert.resolved"]


async def acknowledgements(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> list[HandoverAcknowledgement]:
    """Who acknowledged which alert in [start, end], in order, with the alert's state now."""
    query = (
        select(EventRow)
        .where(EventRow.kind == "alert.acknowledged", EventRow.at >= start, EventRow.at <= end)
        .order_by(EventRow.id)
    )
    events = list((await session.scalars(query)).all())
    ids = {int(event.payload["id"]) for event in events}
    states: dict[int, str] = {}
    if ids:
        rows = await session.execute(
            select(AlertRow.id, AlertRow.state).where(AlertRow.id.in_(ids), alert_scope(principal))
        )
        states = {alert_id: state for alert_id, state in rows.all()}
    acks = []
    for event in events:
        alert = event.payload
        if int(alert["id"]) not in states:
            continue  # out of the caller's scope
        acks.append(
            HandoverAcknowledgement(
                alert_id=alert["id"],
                rule=alert["rule"],
                severity=alert["severity"],
                title=alert["title"],
                by=event.actor,
                role=event.role,
                at=event.at,
                note=alert.get("note"),
                state_now=states[int(alert["id"])],
            )
        )
    return acks[-LIST_LIMIT:]


async def waiting_requests(session: AsyncSession, principal: Principal) -> list[HandoverRequest]:
    rows = await list_requests(session, principal, state=RequestState.PENDING, limit=LIST_LIMIT)
    return [HandoverRequest.model_validate(row, from_attributes=True) for row in rows]


async def riders_out(
    session: AsyncSession, principal: Principal, now: datetime
) -> list[HandoverRider]:
    """Riders with orders still on them, and those orders (oldest promise first)."""
    query = (
        select(OrderRow.id, OrderRow.promised_at, RiderRow.id, RiderRow.name)
        .join(RiderRow, RiderRow.id == OrderRow.rider_id)
        .add_columns(RiderRow.warehouse_id, RiderRow.status)
        .where(OrderRow.status.in_(CARRIED), order_scope(principal))
        .order_by(RiderRow.id, OrderRow.promised_at, OrderRow.id)
    )
    riders: dict[int, HandoverRider] = {}
    for order_id, promised_at, rider_id, name, warehouse_id, status in (
        await session.execute(query)
    ).all():
        rider = riders.get(rider_id)
        if rider is None:
            rider = HandoverRider(
                id=rider_id,
                name=name,
                warehouse_id=warehouse_id,
                status=status,
                order_ids=[],
                late_orders=0,
            )
            riders[rider_id] = rider
        rider.order_ids.append(order_id)
        rider.late_orders += promised_at < now
    return list(riders.values())[:LIST_LIMIT]


async def in_flight(
    session: AsyncSession, principal: Principal, now: datetime
) -> tuple[dict[str, int], list[HandoverLateOrder], int]:
    """Orders in flight by state, the late ones (latest first, listed up to the limit) and
    how many are late in all."""
    scope = [OrderRow.status.in_(IN_FLIGHT), order_scope(principal)]
    counted = await session.execute(
        select(OrderRow.status, func.count()).where(*scope).group_by(OrderRow.status)
    )
    by_state = Counter({status: int(n) for status, n in counted.all()})
    late = [*scope, OrderRow.promised_at < now]
    late_total = await session.scalar(select(func.count()).select_from(OrderRow).where(*late))
    rows = await session.execute(
        select(
            OrderRow.id,
            OrderRow.status,
            OrderRow.warehouse_id,
            OrderRow.zone,
            OrderRow.rider_id,
            OrderRow.promised_at,
        )
        .where(*late)
        .order_by(OrderRow.promised_at, OrderRow.id)
        .limit(LIST_LIMIT)
    )
    orders = [
        HandoverLateOrder(
            id=order_id,
            status=status,
            warehouse_id=warehouse_id,
            zone=zone,
            rider_id=rider_id,
            promised_at=promised_at,
            late_minutes=round((now - promised_at).total_seconds() / 60, 1),
        )
        for order_id, status, warehouse_id, zone, rider_id, promised_at in rows.all()
    ]
    return {s: by_state[s] for s in IN_FLIGHT if by_state[s]}, orders, int(late_total or 0)


async def shift_figures(session: AsyncSession, scope: KpiScope, now: datetime) -> KpiFigures:
    """The window's KPI figures, as `/kpi/summary` serves them for its `current`."""
    return (await kpi.summary(session, scope, now=now)).current
