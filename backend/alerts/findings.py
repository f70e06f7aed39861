"""What each alert rule finds right now: one `Finding` per rule and subject.

Each rule is one function over the current rows (orders, riders, their delivery progress,
temperature readings, pending requests) and the thresholds in force, for every subject or for
the `Subjects` some events touched. Findings are facts, not alerts: the engine compares them
with the standing alerts (of the same subjects) and opens, updates or resolves.
Titles stay the same while a condition lasts (figures go in `details`, the console counts the
minutes), so a standing alert is not re-announced every tick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.rules import Rules
from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend.returns.models import ReturnRequestRow
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend.sensors.latest import classes_of, newest_readings, speaking_for
from backend.staffing.view import staffing
from backend_client.models import (
    AlertRule,
    AlertSeverity,
    OrderState,
    RequestKind,
    RequestState,
    RiderStatus,
)

S = OrderState
RIDER_RULES = (AlertRule.GPS_SILENT, AlertRule.RIDER_STATIONARY, AlertRule.OFF_ROUTE)
"""Rules about a rider, in the order they win as the cause of that rider's orders' alerts."""
OVERDUE_STATES = (S.PAID, S.PICKING, S.OUT_OF_STOCK, S.DELIVERING, S.EXCEPTION)
"""An unpaid order is not a delivery yet; returns and claims are past delivering."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's condition holding for one subject."""

    rule: AlertRule
    subject: str
    severity: AlertSeverity
    title: str
    order_id: int | None = None
    rider_id: int | None = None
    request_id: int | None = None
    warehouse_id: str | None = None
    zone: str | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    cause: str | None = None
    """The subject whose alert this one groups under, if it stands (an order's rider)."""

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.rule), self.subject)


@dataclass(frozen=True, slots=True)
class Subjects:
    """Whose conditions a pass looks at: all of them, or the orders, riders and requests that
    events just touched (the rest cannot have changed but with time, which the full pass on
    the engine's tick sees)."""

    orders: frozenset[int] | None = None
    riders: frozenset[int] | None = None
    requests: frozenset[int] | None = None
    warehouses: frozenset[str] | None = None
    """Warehouses whose stock events may have changed (`backend/alerts/low_stock.py`)."""

    @property
    def everything(self) -> bool:
        return (
            self.orders is None
            and self.riders is None
            and self.requests is None
            and self.warehouses is None
        )

    def covers(self, subject: str) -> bool:
        if self.everything:
            return True
        kind, _, number = subject.partition(":")
        if kind == "warehouse":
            return self.warehouses is not None and number in self.warehouses
        chosen = {"order": self.orders, "rider": self.riders, "request": self.requests}.get(kind)
        return chosen is not None and number.isdigit() and int(number) in chosen


EVERYTHING = Subjects()


def _chosen(column: Any, ids: frozenset[int] | None) -> ColumnElement[bool]:
    """`column` among `ids`; anything when every subject is looked at."""
    return true() if ids is None else column.in_(sorted(ids))


def order_subject(order_id: int) -> str:
    return f"order:{order_id}"


def _orders(count: int) -> str:
    """`1 order`, `3 orders`: a title a dispatcher reads."""
    return f"{count} order" if count == 1 else f"{count} orders"


def rider_subject(rider_id: int) -> str:
    return f"rider:{rider_id}"


def request_subject(request_id: int) -> str:
    return f"request:{request_id}"


def _minutes(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- Orders -------------------------------------------------------------------------------------

ORDER_COLUMNS = (
    OrderRow.id,
    OrderRow.status,
    OrderRow.customer_name,
    OrderRow.promised_at,
    OrderRow.rider_id,
    OrderRow.warehouse_id,
    OrderRow.zone,
)


def _about_order(row: Any, rule: AlertRule, severity: AlertSeverity, title: str, **details: Any):
    return Finding(
        rule=rule,
        subject=order_subject(row.id),
        severity=severity,
        title=title,
        order_id=row.id,
        rider_id=row.rider_id,
        warehouse_id=row.warehouse_id,
        zone=row.zone,
        details=details,
        cause=rider_subject(row.rider_id) if row.rider_id else None,
    )


async def delivery_overdue(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    rule = rules.delivery_overdue
    rows = await session.execute(
        select(*ORDER_COLUMNS).where(
            _chosen(OrderRow.id, subjects.orders),
            OrderRow.open_rank == 0,
            OrderRow.promised_at < now,
            OrderRow.status.in_(OVERDUE_STATES),
        )
    )
    critical_after = _minutes(rule.critical_after_minutes)
    return [
        _about_order(
            row,
            AlertRule.DELIVERY_OVERDUE,
            AlertSeverity.CRITICAL if now - row.promised_at >= critical_after else rule.severity,
            f"Order {row.id} for {row.customer_name} is past its promise",
            promised_at=_iso(row.promised_at),
            state=row.status,
        )
        for row in rows
    ]


async def predicted_late(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    rule = rules.predicted_late
    rows = await session.execute(
        select(*ORDER_COLUMNS, DeliveryProgressRow.eta_at, DeliveryProgressRow.distance_m)
        .join(DeliveryProgressRow, DeliveryProgressRow.order_id == OrderRow.id)
        .where(
            _chosen(OrderRow.id, subjects.orders),
            OrderRow.status == S.DELIVERING,
            OrderRow.promised_at >= now,  # already late is the overdue rule's
            DeliveryProgressRow.rider_id == OrderRow.rider_id,
            DeliveryProgressRow.eta_at > OrderRow.promised_at,
        )
    )
    grace = _minutes(rule.grace_minutes)  # added here: date arithmetic in SQL is not portable
    return [
        _about_order(
            row,
            AlertRule.PREDICTED_LATE,
            rule.severity,
            f"Order {row.id} for {row.customer_name} will arrive after its promise",
            promised_at=_iso(row.promised_at),
            eta_at=_iso(row.eta_at),
            distance_m=round(row.distance_m),
        )
        for row in rows
        if row.eta_at > row.promised_at + grace
    ]


async def _waiting(
    session: AsyncSession,
    state: OrderState,
    since_column: Any,
    minutes: float,
    now: datetime,
    subjects: Subjects,
):
    return await session.execute(
        select(*ORDER_COLUMNS, since_column.label("since")).where(
            _chosen(OrderRow.id, subjects.orders),
            OrderRow.status == state,
            since_column < now - _minutes(minutes),
        )
    )


async def not_picked(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    rule = rules.not_picked
    rows = await _waiting(session, S.PAID, OrderRow.paid_at, rule.minutes, now, subjects)
    return [
        _about_order(
            row,
            AlertRule.NOT_PICKED,
            rule.severity,
            f"Order {row.id}: paid, and picking has not started",
            paid_at=_iso(row.since),
        )
        for row in rows
    ]


async def payment_pending(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    rule = rules.payment_pending
    rows = await _waiting(session, S.CREATED, OrderRow.created_at, rule.minutes, now, subjects)
    return [
        _about_order(
            row,
            AlertRule.PAYMENT_PENDING,
            rule.severity,
            f"Order {row.id} for {row.customer_name}: payment pending",
            created_at=_iso(row.since),
        )
        for row in rows
    ]


async def _last_reasons(session: AsyncSession, order_ids: list[int], state: OrderState):
    """The reason given when each order last entered `state`."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(EventRow.order_id, EventRow.reason)
        .where(
            EventRow.order_id.in_(order_ids),
            EventRow.kind == "order.transition",
            EventRow.to_state == state,
        )
        .order_by(EventRow.id)
    )
    return {order_id: reason for order_id, reason in rows}  # the newest wins


async def out_of_stock(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    rule = rules.out_of_stock
    rows = (
        await session.execute(
            select(*ORDER_COLUMNS).where(
                _chosen(OrderRow.id, subjects.orders), OrderRow.status == S.OUT_OF_STOCK
            )
        )
    ).all()
    reasons = await _last_reasons(session, [r.id for r in rows], S.OUT_OF_STOCK)
    return [
        _about_order(
            row,
            AlertRule.OUT_OF_STOCK,
            rule.severity,
            f"Order {row.id}: out of stock ({reasons.get(row.id) or 'no reason given'})",
        )
        for row in rows
    ]


async def delivery_exception(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Orders in EXCEPTION with no return or claim waiting for a decision (that request is
    the thing to act on then, and has its own alert)."""
    rule = rules.delivery_exception
    waiting = select(ReturnRequestRow.order_id).where(
        ReturnRequestRow.state == RequestState.PENDING,
        ReturnRequestRow.kind != RequestKind.COMPLAINT,  # the order itself still waits
    )
    rows = (
        await session.execute(
            select(*ORDER_COLUMNS).where(
                _chosen(OrderRow.id, subjects.orders),
                OrderRow.status == S.EXCEPTION,
                OrderRow.id.not_in(waiting),
            )
        )
    ).all()
    reasons = await _last_reasons(session, [r.id for r in rows], S.EXCEPTION)
    return [
        _about_order(
            row,
            AlertRule.DELIVERY_EXCEPTION,
            rule.severity,
            f"Order {row.id}: {reasons.get(row.id) or 'delivery exception'}",
        )
        for row in rows
    ]


async def cold_chain_temperature(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """The newest recent reading for each cold-chain order being picked or delivered, from its
    own box or its rider's vehicle, outside the allowed range."""
    rule = rules.cold_chain_temperature
    orders = (
        await session.execute(
            select(*ORDER_COLUMNS).where(
                _chosen(OrderRow.id, subjects.orders),
                OrderRow.cold_chain.is_(True),
                OrderRow.status.in_((S.PICKING, S.DELIVERING)),
            )
        )
    ).all()
    if not orders:
        return []
    since = now - _minutes(rule.max_reading_age_minutes)
    newest = await newest_readings(
        session,
        "celsius",
        order_ids=[o.id for o in orders],
        rider_ids={o.rider_id for o in orders if o.rider_id},
        since=since,
    )
    found = []
    for order in orders:
        reading = speaking_for(newest, order.id, order.rider_id)
        if reading is None:
            continue
        _source, celsius, at = reading
        if rule.min_celsius <= celsius <= rule.max_celsius:
            continue
        found.append(
            _about_order(
                order,
                AlertRule.COLD_CHAIN_TEMPERATURE,
                rule.severity,
                f"Order {order.id}: cold chain out of range "
                f"({rule.min_celsius:g} to {rule.max_celsius:g} °C)",
                celsius=celsius,
                read_at=_iso(at),
            )
        )
    return found


async def humidity(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """The newest recent humidity reading for each order being picked or delivered, from its
    own box or its rider's vehicle, outside the band of a class of goods it carries."""
    rule = rules.humidity
    orders = (
        await session.execute(
            select(*ORDER_COLUMNS).where(
                _chosen(OrderRow.id, subjects.orders),
                OrderRow.status.in_((S.PICKING, S.DELIVERING)),
            )
        )
    ).all()
    if not orders or not rule.classes:
        return []
    newest = await newest_readings(
        session,
        "humidity",
        order_ids=[o.id for o in orders],
        rider_ids={o.rider_id for o in orders if o.rider_id},
        since=now - _minutes(rule.max_reading_age_minutes),
    )
    carried = await classes_of(session, [o.id for o in orders])
    found = []
    for order in orders:
        reading = speaking_for(newest, order.id, order.rider_id)
        if reading is None:
            continue
        _source, percent, at = reading
        bands = {
            name: (band.min_percent, band.max_percent)
            for name, band in sorted(rule.classes.items())
            if name in carried.get(order.id, set())
        }
        outside = [name for name, (low, high) in bands.items() if not low <= percent <= high]
        if not outside:
            continue
        found.append(
            _about_order(
                order,
                AlertRule.HUMIDITY,
                rule.severity,
                f"Order {order.id}: humidity out of range for {', '.join(outside)}",
                humidity=percent,
                read_at=_iso(at),
                bands={name: bands[name] for name in outside},
            )
        )
    return found


# --- Riders -------------------------------------------------------------------------------------


def _about_rider(row: Any, rule: AlertRule, severity: AlertSeverity, title: str, **details: Any):
    return Finding(
        rule=rule,
        subject=rider_subject(row.id),
        severity=severity,
        title=title,
        rider_id=row.id,
        warehouse_id=row.warehouse_id,
        zone=row.zone,
        details=details,
    )


RIDER_COLUMNS = (
    RiderRow.id,
    RiderRow.name,
    RiderRow.warehouse_id,
    WarehouseRow.zone,
    RiderRow.active_orders,
    RiderRow.last_fix_at,
)


def _riders():
    return select(*RIDER_COLUMNS).join(WarehouseRow, WarehouseRow.id == RiderRow.warehouse_id)


def _out_for_delivery():
    return select(OrderRow.rider_id).where(OrderRow.status == S.DELIVERING)


async def gps_silent(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Online riders with no fix for a while (or none at all while carrying orders)."""
    rule = rules.gps_silent
    cutoff = now - _minutes(rule.minutes)
    rows = await session.execute(
        _riders().where(
            _chosen(RiderRow.id, subjects.riders),
            RiderRow.status == RiderStatus.ONLINE,
            or_(
                RiderRow.last_fix_at < cutoff,
                and_(RiderRow.last_fix_at.is_(None), RiderRow.active_orders > 0),
            ),
        )
    )
    return [
        _about_rider(
            row,
            AlertRule.GPS_SILENT,
            rule.severity if row.active_orders else rule.idle_severity,
            f"Rider {row.name}: no GPS fix"
            + (f", carrying {_orders(row.active_orders)}" if row.active_orders else ""),
            last_fix_at=_iso(row.last_fix_at),
            carrying=row.active_orders,
        )
        for row in rows
    ]


async def rider_stationary(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Riders with orders out for delivery whose recent fixes stay in one place. A rider whose
    GPS is silent is not judged: the silence is the alert then."""
    rule = rules.rider_stationary
    rows = await session.execute(
        _riders()
        .add_columns(RiderRow.still_since, RiderRow.still_lat, RiderRow.still_lng)
        .where(
            _chosen(RiderRow.id, subjects.riders),
            RiderRow.id.in_(_out_for_delivery()),
            RiderRow.still_since <= now - _minutes(rule.minutes),
            RiderRow.last_fix_at >= now - _minutes(rules.gps_silent.minutes),
        )
    )
    return [
        _about_rider(
            row,
            AlertRule.RIDER_STATIONARY,
            rule.severity,
            f"Rider {row.name} is standing still with orders out",
            since=_iso(row.still_since),
            lat=row.still_lat,
            lng=row.still_lng,
        )
        for row in rows
    ]


async def off_route(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Riders further from every customer they carry than their closest approach by more than
    the threshold: riding away from all their stops."""
    rule = rules.off_route
    gaps = await session.execute(
        select(
            DeliveryProgressRow.rider_id,
            DeliveryProgressRow.distance_m - DeliveryProgressRow.closest_m,
        )
        .join(OrderRow, OrderRow.id == DeliveryProgressRow.order_id)
        .where(
            _chosen(DeliveryProgressRow.rider_id, subjects.riders),
            OrderRow.status == S.DELIVERING,
            OrderRow.rider_id == DeliveryProgressRow.rider_id,
            DeliveryProgressRow.fix_at >= now - _minutes(rules.gps_silent.minutes),
        )
    )
    smallest: dict[int, float] = {}
    for rider_id, gap in gaps:
        smallest[rider_id] = min(gap, smallest.get(rider_id, gap))
    away = {rider_id: gap for rider_id, gap in smallest.items() if gap > rule.metres}
    if not away:
        return []
    rows = await session.execute(_riders().where(RiderRow.id.in_(sorted(away))))
    return [
        _about_rider(
            row,
            AlertRule.OFF_ROUTE,
            rule.severity,
            f"Rider {row.name} is riding away from every stop",
            metres_off=round(away[row.id]),
        )
        for row in rows
    ]


# --- Requests -----------------------------------------------------------------------------------


async def requests_waiting(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Returns and claims waiting for a decision, complaints for a resolution."""
    chosen: ColumnElement[bool] = true()
    if not subjects.everything:
        chosen = or_(
            _chosen(ReturnRequestRow.id, subjects.requests or frozenset()),
            _chosen(ReturnRequestRow.order_id, subjects.orders or frozenset()),
        )
    rows = await session.execute(
        select(ReturnRequestRow, OrderRow.zone, OrderRow.rider_id)
        .join(OrderRow, OrderRow.id == ReturnRequestRow.order_id)
        .where(chosen, ReturnRequestRow.state == RequestState.PENDING)
    )
    found = []
    for request, zone, rider_id in rows:
        if request.kind == RequestKind.COMPLAINT:
            rule, setting = AlertRule.COMPLAINT_OPENED, rules.complaint_opened
            title = (
                f"Complaint ({request.category}) about order {request.order_id}: {request.reason}"
            )
        elif request.kind == RequestKind.CLAIM:
            rule, setting = AlertRule.CLAIM_REQUESTED, rules.claim_requested
            title = (
                f"Claim of {request.amount_cents / 100:.2f} for order {request.order_id}: "
                f"{request.reason}"
            )
        else:
            rule, setting = AlertRule.RETURN_REQUESTED, rules.return_requested
            title = f"Return of order {request.order_id}: {request.reason}"
        if not setting.enabled:
            continue
        found.append(
            Finding(
                rule=rule,
                subject=request_subject(request.id),
                severity=setting.severity,
                title=title[:300],
                order_id=request.order_id,
                rider_id=rider_id,
                request_id=request.id,
                warehouse_id=request.warehouse_id,
                zone=zone,
                details={
                    "amount_cents": request.amount_cents,
                    "opened_by": request.opened_by,
                    **({"category": request.category} if request.category else {}),
                },
            )
        )
    return found


# --- Zones -------------------------------------------------------------------------------------


def zone_subject(zone: str, hour: datetime) -> str:
    """`zone:Chaoyang@2026112208`: one alert per zone and clock hour (UTC). Subjects are at
    most 60 characters: a long zone name is cut and keeps a digest of the whole."""
    name = zone
    if len(name) > 40:
        name = f"{zone[:31]}~{hashlib.sha1(zone.encode()).hexdigest()[:8]}"
    return f"zone:{name}@{hour:%Y%m%d%H}"


async def understaffed_zone(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> list[Finding]:
    """Zones whose planned rider-hours fall short of the riders the forecast needs, for the
    current hour and any starting within `minutes_ahead`. A condition of time and plans, not
    of any order or rider an event names: only the full pass (the tick) asks."""
    if not subjects.everything:
        return []
    rule = rules.understaffed_zone
    lead = _minutes(rule.minutes_ahead)
    first = now.replace(minute=0, second=0, microsecond=0)
    hours = int((now + lead - first) / timedelta(hours=1)) + 1
    view = await staffing(
        session,
        now,
        hours=hours,
        orders_per_rider_hour=rule.orders_per_rider_hour,
        weeks=rule.history_weeks,
    )
    found = []
    for zone in view.zones:
        for slot in zone.hours:
            due = slot.starts_at - lead <= now < slot.starts_at + timedelta(hours=1)
            if not due or slot.riders_needed <= slot.riders_planned:
                continue
            found.append(
                Finding(
                    rule=AlertRule.UNDERSTAFFED_ZONE,
                    subject=zone_subject(zone.zone, slot.starts_at),
                    severity=rule.severity,
                    title=f"{zone.zone} short of riders {slot.starts_at:%H:%M} UTC",
                    warehouse_id=zone.warehouse_id,
                    zone=zone.zone,
                    details={
                        "zone": zone.zone,
                        "hour": slot.starts_at.isoformat(),
                        "forecast_orders": slot.forecast_orders,
                        "riders_planned": slot.riders_planned,
                        "riders_needed": slot.riders_needed,
                    },
                )
            )
    return found


Finder = Callable[[AsyncSession, Rules, datetime, Subjects], Awaitable[list[Finding]]]

FINDERS: dict[AlertRule, Finder] = {
    AlertRule.DELIVERY_OVERDUE: delivery_overdue,
    AlertRule.PREDICTED_LATE: predicted_late,
    AlertRule.RIDER_STATIONARY: rider_stationary,
    AlertRule.GPS_SILENT: gps_silent,
    AlertRule.OFF_ROUTE: off_route,
    AlertRule.NOT_PICKED: not_picked,
    AlertRule.PAYMENT_PENDING: payment_pending,
    AlertRule.OUT_OF_STOCK: out_of_stock,
    AlertRule.COLD_CHAIN_TEMPERATURE: cold_chain_temperature,
    AlertRule.HUMIDITY: humidity,
    AlertRule.DELIVERY_EXCEPTION: delivery_exception,
    AlertRule.UNDERSTAFFED_ZONE: understaffed_zone,
}
"""One finder per rule; returns and claims share `requests_waiting`."""


ORDER_RULES = frozenset(
    {
        AlertRule.DELIVERY_OVERDUE,
        AlertRule.PREDICTED_LATE,
        AlertRule.NOT_PICKED,
        AlertRule.PAYMENT_PENDING,
        AlertRule.OUT_OF_STOCK,
        AlertRule.COLD_CHAIN_TEMPERATURE,
        AlertRule.HUMIDITY,
        AlertRule.DELIVERY_EXCEPTION,
    }
)


async def find_all(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects = EVERYTHING
) -> dict[tuple[str, str], Finding]:
    """Every condition holding now for `subjects`, by (rule, subject), for the rules on. A
    rule about subjects none of which were touched is not asked."""
    found: list[Finding] = []
    for rule, finder in FINDERS.items():
        about = subjects.orders if rule in ORDER_RULES else subjects.riders
        if getattr(rules, str(rule)).enabled and (subjects.everything or about):
            found += await finder(session, rules, now, subjects)
    if subjects.everything or subjects.orders or subjects.requests:
        found += await requests_waiting(session, rules, now, subjects)
    return {f.key: f for f in found}
