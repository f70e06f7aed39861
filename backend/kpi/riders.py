"""Rider utilisation: time carrying orders over time online, from the event log alone.

Each rider's day is a step function rebuilt in SQL:
- online or not: the state of their latest `rider.status` (or `rider.registered`) event;
- carrying orders or not: +1 when one of their orders leaves the warehouse (PICKING ->
  DELIVERING), -1 when it leaves their hands (signed, returned, handed to a claim), and a
  reassignment on the road moves the order from one rider's count to the other's.
Running sums over those changes give segments; their overlap with the window (or with each
bucket) is summed. Only orders on the road at some point of the window are read, so the cost
follows the window, not the history.
"""

from __future__ import annotations

from collections.abc import Hashable

from sqlalchemy import and_, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.kpi.scope import TOTAL_KEY, Grouping, KpiScope
from backend.kpi.sql import epoch, greatest, least
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend.riders.models import RiderRow
from backend_client.models import OrderState, RiderStatus

# The rider has the goods out of the warehouse and is not free for other work.
CARRYING = (OrderState.DELIVERING, OrderState.EXCEPTION, OrderState.RETURNING)
STATUS_KINDS = ("rider.status", "rider.registered")


async def utilisation(
    session: AsyncSession, scope: KpiScope, grouping: Grouping
) -> dict[Hashable, dict[str, float]]:
    """Online and carrying seconds per key (one total, or per bucket); riders are not per
    channel, so a channel grouping or filter has no answer."""
    if grouping == Grouping.CHANNEL or scope.channel is not None:
        return {}
    e = EventRow
    start, end = scope.start.timestamp(), scope.end.timestamp()

    # Online: +1 / -1 as each status event changes whether the rider is online. The shift
    # events are read first by kind and time (materialised, so the window function below
    # cannot talk the planner into walking every event in rider order instead).
    shifts = (
        select(e.rider_id, e.at, e.seq, e.to_state)
        .where(e.kind.in_(STATUS_KINDS), e.at < scope.end)
        .cte("shifts")
        .prefix_with("MATERIALIZED")
    )
    sh = shifts.c
    online_now = case((sh.to_state == RiderStatus.ONLINE, 1), else_=0)
    online_before = func.lag(online_now, 1, 0).over(partition_by=sh.rider_id, order_by=sh.seq)
    status = select(
        sh.rider_id.label("rider_id"),
        sh.at.label("at"),
        sh.seq.label("seq"),
        (online_now - online_before).label("d_online"),
        literal(0).label("d_busy"),
    ).subquery("status")

    # Carrying: only orders whose time on the road can touch the window: on the road now, or
    # left the rider's hands since the window began (and so changed since: by index).
    o = OrderRow
    left_hands = func.coalesce(o.signed_at, o.returned_at, o.claiming_at)
    # (A union, not an OR: each half then reads its own index.)
    road = (
        union_all(
            select(o.id.label("id")).where(o.status.in_(CARRYING)),
            select(o.id).where(
                o.updated_at >= scope.start,
                o.status.not_in(CARRYING),
                o.delivering_at.is_not(None),
                o.picking_at < scope.end,
                left_hands >= scope.start,
            ),
        )
        .cte("road")
        .prefix_with("MATERIALIZED")
    )
    # Their transitions and reassignments, read once (materialised: the branches below then
    # scan a few rows instead of probing the log three times).
    moves = (
        select(
            e.rider_id,
            e.at,
            e.seq,
            e.kind,
            e.from_state,
            e.to_state,
            e.payload["from_rider"].as_integer().label("from_rider"),
        )
        .select_from(road)
        .join(e, e.order_id == road.c.id)
        .where(e.kind.in_(("order.transition", "order.assigned")), e.at < scope.end)
        .cte("moves")
        .prefix_with("MATERIALIZED")
    )
    m = moves.c
    carrying_to = m.to_state.in_(CARRYING)
    carrying_from = m.from_state.in_(CARRYING)
    transitions = select(
        m.rider_id,
        m.at,
        m.seq,
        literal(0),
        case(
            (and_(carrying_to, ~carrying_from), 1),
            (and_(carrying_from, ~carrying_to), -1),
            else_=0,
        ),
    ).where(
        m.kind == "order.transition",
        m.rider_id.is_not(None),
        or_(carrying_to, carrying_from),
    )
    # A reassignment on the road: the new rider gains the order, the previous one loses it.
    reassigned = (m.kind == "order.assigned", carrying_from)
    gained = select(m.rider_id, m.at, m.seq, literal(0), literal(1)).where(*reassigned)
    lost = select(m.from_rider, m.at, m.seq, literal(0), literal(-1)).where(
        *reassigned, m.from_rider.is_not(None)
    )
    changes = union_all(
        select(
            status.c.rider_id, status.c.at, status.c.seq, status.c.d_online, status.c.d_busy
        ).where(status.c.d_online != 0),
        transitions,
        gained,
        lost,
    ).subquery("changes")

    c = changes.c
    order = (c.at, c.seq)
    levels = select(
        c.rider_id,
        epoch(c.at).label("begins"),
        func.coalesce(
            epoch(func.lead(c.at).over(partition_by=c.rider_id, order_by=order)), end
        ).label("ends"),
        func.sum(c.d_online).over(partition_by=c.rider_id, order_by=order).label("online"),
        func.sum(c.d_busy).over(partition_by=c.rider_id, order_by=order).label("busy"),
    ).subquery("levels")
    lv = levels.c

    # The segments while online that reach into the window, with the rider's warehouse.
    segments = select(lv.begins, lv.ends, lv.busy).select_from(levels)
    segments = segments.join(RiderRow, RiderRow.id == lv.rider_id)
    if scope.zone is not None:
        segments = segments.join(WarehouseRow, WarehouseRow.id == RiderRow.warehouse_id)
        segments = segments.where(WarehouseRow.zone == scope.zone)
    if scope.warehouse_id is not None:
        segments = segments.where(RiderRow.warehouse_id == scope.warehouse_id)
    segments = segments.where(lv.online > 0, lv.ends > start, lv.begins < end).subquery("seg")
    s = segments.c

    if grouping == Grouping.TOTAL:
        lo, hi = greatest(s.begins, start), least(s.ends, end)
        query = select(
            literal_column(f"'{TOTAL_KEY}'").label("key"),
            func.coalesce(func.sum(hi - lo), 0).label("online"),
            func.coalesce(func.sum(case((s.busy > 0, hi - lo), else_=0)), 0).label("busy"),
        )
    else:
        size = scope.bucket.total_seconds()
        numbers = select(literal(0).label("n")).cte("buckets", recursive=True)
        numbers = numbers.union_all(
            select((numbers.c.n + 1).label("n")).where(numbers.c.n + 1 < scope.bucket_count)
        )
        b_start = start + numbers.c.n * size
        lo = greatest(s.begins, b_start)
        hi = least(s.ends, b_start + size, end)
        query = (
            select(
                numbers.c.n.label("key"),
                func.sum(hi - lo).label("online"),
                func.sum(case((s.busy > 0, hi - lo), else_=0)).label("busy"),
            )
            .select_from(numbers)
            .join(segments, and_(s.begins < b_start + size, s.ends > b_start))
            .group_by(numbers.c.n)
        )
    return {
        row["key"]: {"online": float(row["online"] or 0), "busy": float(row["busy"] or 0)}
        for row in (await session.execute(query)).mappings()
    }
