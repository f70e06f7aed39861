"""Restock plans and decisions: the history read, the forecast applied to the stock position,
and the merchant's accept or adjust (audited in the event log as `stock.restock_*`).

Demand is the units on the lines of the warehouse's orders that were paid, counted at the hour
the order was placed: payment is when stock is reserved, so it is what the shelf must cover.
Orders that ran short (OUT_OF_STOCK) and orders cancelled after payment count too: the
customer wanted the goods, and leaving out the demand a shortage turned away would make the
next suggestion smaller exactly where the shelf ran empty. Orders never paid do not count
(nothing was reserved for them, and an abandoned cart is no demand on the shelf).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import Database, UTCDateTime
from backend.errors import Conflict, NotFound, Unprocessable
from backend.inventory import service as inventory
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.realtime.outbox import append_event
from backend.restock.forecast import (
    HOUR,
    HOURS_PER_WEEK,
    Window,
    fit_profile,
    history_window,
    sku_forecasts,
    suggested_quantity,
    window_demand,
    z_of,
)
from backend.restock.models import RestockDecisionRow
from backend.settings import Settings
from backend.sql import when
from backend.tiers.reads import store_for
from backend.tiers.session import archived_parts, read_parts
from backend_client.models import (
    RestockAction,
    RestockDecide,
    RestockDecision,
    RestockDecisionState,
    RestockPlan,
    RestockSuggestion,
)


@dataclass(frozen=True, slots=True)
class Sizing:
    """How a plan is sized: the settings' defaults, or a request's overrides."""

    lead_hours: float
    review_hours: float
    service_level: float
    weeks: int

    @classmethod
    def of(
        cls,
        settings: Settings,
        *,
        lead_hours: float | None = None,
        review_hours: float | None = None,
        service_level: float | None = None,
        weeks: int | None = None,
    ) -> Sizing:
        return cls(
            settings.restock_lead_hours if lead_hours is None else lead_hours,
            settings.restock_review_hours if review_hours is None else review_hours,
            settings.restock_service_level if service_level is None else service_level,
            settings.restock_history_weeks if weeks is None else weeks,
        )


DemandLine = tuple[str, datetime, int]
"""(SKU, when the order was placed, units)."""

HOT_HISTORY = text(
    "SELECT oi.sku, o.created_at, oi.quantity, o.id FROM order_items oi "
    "JOIN orders o ON o.id = oi.order_id WHERE o.warehouse_id = :warehouse_id "
    "AND o.created_at >= :since AND o.created_at < :until AND o.paid_at IS NOT NULL"
).bindparams(bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime()))
"""Typed bounds (each database's form of a time); the columns come back untyped, as each
database keeps them, and `when` reads them."""


def _at(value: datetime | str) -> datetime:
    placed = when(value)
    assert placed is not None  # created_at is NOT NULL
    return placed


async def demand_lines(
    db: Database, settings: Settings, warehouse_id: str, since: datetime, until: datetime
) -> list[DemandLine]:
    """The paid order lines of the warehouse placed in [since, until): the hot ones from the
    database, the archived ones from their day partitions (closed orders leave the database
    after `hot_window_hours`, long before a fortnight of history is over)."""
    async with db.read() as session:
        rows = (
            await session.execute(
                HOT_HISTORY,
                {
                    "warehouse_id": warehouse_id,
                    "since": since,
                    "until": until,
                },
            )
        ).all()
    # Plain SQL, times as each database keeps them and read with `when`: the ORM's typed rows
    # cost five times the read itself at a fortnight of lines (bench/restock.py).
    lines: list[DemandLine] = [(sku, _at(at), quantity) for sku, at, quantity, _ in rows]
    parts = await archived_parts(db, since, until)
    if parts:
        hot = {order_id for *_, order_id in rows}
        lines.extend(_archived_lines(settings, parts, warehouse_id, since, until, hot))
    return lines


def _archived_lines(
    settings: Settings,
    parts: Sequence[tuple[object, int]],
    warehouse_id: str,
    since: datetime,
    until: datetime,
    hot: set[int],
) -> list[DemandLine]:
    store = store_for(settings)
    window = [
        ("warehouse_id", "=", warehouse_id),
        ("created_at", ">=", since),
        ("created_at", "<", until),
    ]
    orders = read_parts(store, parts, "orders", window).select(["id", "created_at", "paid_at"])  # type: ignore[arg-type]
    placed = {
        order_id: at
        for order_id, at, paid in zip(
            orders.column("id").to_pylist(),
            orders.column("created_at").to_pylist(),
            orders.column("paid_at").to_pylist(),
            strict=True,
        )
        if paid is not None and order_id not in hot
    }
    if not placed:
        return []
    items = read_parts(store, parts, "order_items", [("order_id", "in", sorted(placed))])  # type: ignore[arg-type]
    return [
        (sku, _aware(placed[order_id]), quantity)
        for order_id, sku, quantity in zip(
            items.column("order_id").to_pylist(),
            items.column("sku").to_pylist(),
            items.column("quantity").to_pylist(),
            strict=True,
        )
    ]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def hourly(
    lines: Sequence[DemandLine], window: Window, skus: Sequence[str]
) -> tuple[dict[str, list[float]], list[float]]:
    """Units per SKU and in all per history hour (lines outside the window left out)."""
    by_sku = {sku: [0.0] * window.hours for sku in skus}
    totals = [0.0] * window.hours
    for sku, at, quantity in lines:
        slot = int((at - window.start) // HOUR)
        if 0 <= slot < window.hours:
            totals[slot] += quantity
            series = by_sku.get(sku)
            if series is not None:
                series[slot] += quantity
    return by_sku, totals


@dataclass(frozen=True, slots=True)
class Position:
    sku: str
    name: str
    on_hand: int
    reserved: int


async def positions(session: AsyncSession, warehouse_id: str) -> list[Position]:
    """The warehouse's stock rows with their SKUs' names, by SKU."""
    rows = await session.execute(
        select(StockRow.sku, SkuRow.name, StockRow.on_hand, StockRow.reserved)
        .join(SkuRow, SkuRow.sku == StockRow.sku)
        .where(StockRow.warehouse_id == warehouse_id)
        .order_by(StockRow.sku)
    )
    return [Position(*row) for row in rows.all()]


async def open_decisions(session: AsyncSession, warehouse_id: str) -> list[RestockDecisionRow]:
    """Decisions still on order, oldest first."""
    rows = await session.scalars(
        select(RestockDecisionRow)
        .where(
            RestockDecisionRow.warehouse_id == warehouse_id,
            RestockDecisionRow.received_at.is_(None),
        )
        .order_by(RestockDecisionRow.id)
    )
    return list(rows.all())


async def latest_decision_ids(session: AsyncSession, warehouse_id: str) -> dict[str, int]:
    """SKU -> the id of its newest decision, received or not (what `version` names)."""
    rows = await session.execute(
        select(RestockDecisionRow.sku, func.max(RestockDecisionRow.id))
        .where(RestockDecisionRow.warehouse_id == warehouse_id)
        .group_by(RestockDecisionRow.sku)
    )
    return {sku: latest for sku, latest in rows.all()}


def version_of(latest_decision: int | None) -> str:
    """What a suggestion was made after: the SKU's newest decision. A decision sent with an
    older version was made without seeing another one (a colleague's, or its own retry), and
    is refused rather than ordering the goods twice. The stock's own churn (every payment
    and dispatch moves it) is no reason to refuse: the merchant decides on the quantity."""
    return f"d{latest_decision or 0}"


async def plan(
    db: Database,
    settings: Settings,
    warehouse_id: str,
    now: datetime,
    sizing: Sizing,
) -> RestockPlan:
    """A suggestion for every SKU the warehouse stocks."""
    zone = settings.zone
    earliest = now - timedelta(hours=sizing.weeks * HOURS_PER_WEEK)
    lines = await demand_lines(db, settings, warehouse_id, earliest, now)
    async with db.read() as session:
        if await session.get(WarehouseRow, warehouse_id) is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        stock = await positions(session, warehouse_id)
        pending = await open_decisions(session, warehouse_id)
        latest = await latest_decision_ids(session, warehouse_id)
    return build_plan(warehouse_id, now, sizing, zone, lines, stock, pending, latest)


def build_plan(
    warehouse_id: str,
    now: datetime,
    sizing: Sizing,
    zone: tzinfo,
    lines: Sequence[DemandLine],
    stock: Sequence[Position],
    pending: Sequence[RestockDecisionRow],
    latest: dict[str, int],
) -> RestockPlan:
    """The plan from what was read (no I/O: the benchmark times this part alone too)."""
    first = min((at for _, at, _ in lines), default=None)
    window = history_window(first, now, sizing.weeks)
    skus = [p.sku for p in stock]
    by_sku, totals = hourly(lines, window, skus)
    profile = fit_profile(totals, window, zone)
    ahead_hours = sizing.lead_hours + sizing.review_hours
    ahead = window_demand(profile, now, ahead_hours, zone)
    forecasts = sku_forecasts(by_sku, totals, window, profile, ahead, zone)
    z = z_of(sizing.service_level)
    on_order: dict[str, int] = {}
    newest_open: dict[str, RestockDecisionRow] = {}
    for row in pending:
        on_order[row.sku] = on_order.get(row.sku, 0) + row.quantity
        newest_open[row.sku] = row
    suggestions = []
    for position in stock:
        f = forecasts[position.sku]
        safety = z * f.sigma if f.forecast > 0 else 0.0
        ordered = on_order.get(position.sku, 0)
        available = position.on_hand - position.reserved + ordered
        open_row = newest_open.get(position.sku)
        suggestions.append(
            RestockSuggestion(
                sku=position.sku,
                name=position.name,
                on_hand=position.on_hand,
                reserved=position.reserved,
                on_order=ordered,
                forecast=round(f.forecast, 2),
                safety_stock=round(safety, 2),
                sigma=round(f.sigma, 2),
                suggested=suggested_quantity(f.forecast + safety, available),
                version=version_of(latest.get(position.sku)),
                decision=None if open_row is None else decision_view(open_row),
            )
        )
    return RestockPlan(
        warehouse_id=warehouse_id,
        computed_at=now,
        lead_hours=sizing.lead_hours,
        review_hours=sizing.review_hours,
        service_level=sizing.service_level,
        z=round(z, 4),
        weeks_requested=sizing.weeks,
        weeks_used=window.weeks,
        history_hours=window.hours,
        history_start=window.start if window.hours else None,
        units_in_history=round(sum(totals)),
        suggestions=suggestions,
    )


def decision_view(row: RestockDecisionRow) -> RestockDecision:
    return RestockDecision.model_validate(row, from_attributes=True)


async def decide(
    session: AsyncSession,
    warehouse_id: str,
    sku: str,
    body: RestockDecide,
    *,
    actor: Principal,
    now: datetime,
) -> RestockDecision:
    """Record the merchant's accept or adjust of one suggestion, in the write transaction."""
    if await session.get(WarehouseRow, warehouse_id) is None:
        raise NotFound(f"no warehouse {warehouse_id}")
    # The stock row locked first: two decisions on one SKU take turns, so the second sees the
    # first's row and its version is stale (on SQLite the single writer serialises them anyway).
    if await session.get(StockRow, (warehouse_id, sku), with_for_update=True) is None:
        raise NotFound(f"{warehouse_id} stocks no {sku}")
    latest = await session.scalar(
        select(func.max(RestockDecisionRow.id)).where(
            RestockDecisionRow.warehouse_id == warehouse_id, RestockDecisionRow.sku == sku
        )
    )
    current = version_of(latest)
    if body.version != current:
        raise Conflict(
            f"the suggestion for {sku} changed since it was read (another decision was made): "
            "read the plan again",
            version=current,
        )
    if body.action == RestockAction.ACCEPT:
        if body.quantity is not None and body.quantity != body.suggested:
            raise Conflict("accept orders the suggested quantity: send action adjust instead")
        state, quantity = RestockDecisionState.ACCEPTED, body.suggested
    else:
        if body.quantity is None:
            raise Unprocessable("adjust needs a quantity (0 orders nothing this time)")
        state, quantity = RestockDecisionState.ADJUSTED, body.quantity
    row = RestockDecisionRow(
        warehouse_id=warehouse_id,
        sku=sku,
        decision=str(state),
        suggested=body.suggested,
        quantity=quantity,
        version=current,
        decided_by=actor.username,
        decided_at=now,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        kind=f"stock.restock_{state}",
        actor=actor,
        at=now,
        warehouse_id=warehouse_id,
        payload={
            "sku": sku,
            "decision_id": row.id,
            "suggested": body.suggested,
            "quantity": quantity,
        },
    )
    return decision_view(row)


async def receive(
    session: AsyncSession,
    warehouse_id: str,
    decision_id: int,
    *,
    actor: Principal,
    now: datetime,
) -> RestockDecision:
    """The ordered goods arrived: put them on the shelf and close the decision."""
    row = await session.get(RestockDecisionRow, decision_id, with_for_update=True)
    if row is None or row.warehouse_id != warehouse_id:
        raise NotFound(f"no restock decision {decision_id} in {warehouse_id}")
    if row.received_at is not None:
        raise Conflict(
            f"restock decision {decision_id} was received already",
            received_at=row.received_at.isoformat(),
        )
    if row.quantity > 0:
        await inventory.adjust(
            session,
            warehouse_id,
            row.sku,
            row.quantity,
            f"restock received (decision {decision_id})",
            actor=actor,
            now=now,
        )
    row.received_at, row.received_by = now, actor.username
    await session.flush()
    await append_event(
        session,
        kind="stock.restock_received",
        actor=actor,
        at=now,
        warehouse_id=warehouse_id,
        payload={"sku": row.sku, "decision_id": row.id, "quantity": row.quantity},
    )
    return decision_view(row)
