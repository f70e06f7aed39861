"""Rider utilisation: time carrying orders over time online, from the event log alone.

Each rider's day is a step function rebuilt in SQL:
- online or not: the state of their latest `rider.status` (or `rider.registered`) event;
- carrying orders or not: +1 when one of their orders leaves the warehouse (PICKING ->
  DELIVERING), -1 when it leaves their hands (signed, returned, handed to a claim), and a
  reassignment on the road moves the order from one rider's count to the other's.
Running sums over those changes give segments; their overlap with the window (or, cut at the
bucket edges, with each bucket) is summed. Only orders on the road at some point of the window
are read (the window's moves by time, earlier ones only for orders on the road as it began),
so the cost follows the window, not the history.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.kpi.scope import TOTAL_KEY, Grouping, KpiScope
from backend.kpi.sql import epoch, floor_int, greatest, least
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
    segments = _segments(scope)
    query = _total(segments) if grouping == Grouping.TOTAL else _per_bucket(segments, scope)
    return {
        row["key"]: {"online": float(row["online"] or 0), "busy": float(row["busy"] or 0)}
        for row in (await session.execute(query)).mappings()
    }


def _segments(scope: KpiScope):
    """(lo, hi, busy): each stretch of a rider's time online within the window, in Unix
    seconds, and whether they carried orders through it."""
    e = EventRow
    start, end = scope.start.timestamp(), scope.end.timestamp()

    # Shifts, read by kind and time. Materialised: a window function over them must not talk
    # the planner into walking every event in rider order instead.
    shifts = (
        select(e.rider_id, epoch(e.at).label("t"), e.id.label("seq"), e.to_state)
        .where(e.kind.in_(STATUS_KINDS), e.at < scope.end)
        .cte("shifts")
        .prefix_with("MATERIALIZED")
    )
    sh = shifts.c
    online_now = case((sh.to_state == RiderStatus.ONLINE, 1), else_=0)
    online_before = func.lag(online_now, 1, 0).over(partition_by=sh.rider_id, order_by=sh.seq)
    status = select(
        sh.rider_id.label("rider_id"),
        sh.t.label("t"),
        sh.seq.label("seq"),
        (online_now - online_before).label("d_online"),
    ).subquery("status")

    # Moves on and off the road: those in the window, read by kind and time; and, for orders
    # that may have been on the road when the window began, the moves before it, read by
    # order (those on the road now, or out of the rider's hands since the window began, and
    # so changed since: by index; a union, not an OR, so each half reads its own index).
    o = OrderRow
    left_hands = func.coalesce(o.signed_at, o.returned_at, o.claiming_at)
    road_at_start = (
        union_all(
            select(o.id.label("id")).where(o.status.in_(CARRYING)),
            select(o.id).where(
                o.updated_at >= scope.start,
                o.status.not_in(CARRYING),
                o.delivering_at.is_not(None),
                o.picking_at < scope.start,
                left_hands >= scope.start,
            ),
        )
        .cte("road")
        .prefix_with("MATERIALIZED")
    )
    carrying_to, carrying_from = e.to_state.in_(CARRYING), e.from_state.in_(CARRYING)
    reassigned = and_(e.kind == "order.assigned", carrying_from)
    move = or_(and_(e.kind == "order.transition", or_(carrying_to, carrying_from)), reassigned)
    columns = (
        e.rider_id,
        epoch(e.at).label("t"),
        e.id.label("seq"),  # the order of appending: the tie-break of moves at one time
        case(
            (reassigned, 0),
            (and_(carrying_to, ~carrying_from), 1),
            (and_(carrying_from, ~carrying_to), -1),
            else_=0,
        ).label("delta"),
        # The payload is read only for reassignments.
        case((reassigned, e.payload["from_rider"].as_integer())).label("from_rider"),
    )
    moves = (
        union_all(
            select(*columns).where(
                e.kind.in_(("order.transition", "order.assigned")),
                e.at >= scope.start,
                e.at < scope.end,
                move,
            ),
            select(*columns)
            .select_from(road_at_start)
            .join(e, e.order_id == road_at_start.c.id)
            .where(e.at < scope.start, move),
        )
        .cte("moves")
        .prefix_with("MATERIALIZED")
    )
    m = moves.c
    changes = union_all(
        select(status.c.rider_id, status.c.t, status.c.seq, status.c.d_online, literal(0)).where(
            status.c.d_online != 0
        ),
        # A transition changes its rider's count; a reassignment on the road moves the order
        # from the previous rider's count (-1) to the new rider's (+1).
        select(m.rider_id, m.t, m.seq, literal(0), m.delta).where(
            m.rider_id.is_not(None), m.delta != 0
        ),
        select(m.rider_id, m.t, m.seq, literal(0), literal(1)).where(m.from_rider.is_not(None)),
        select(m.from_rider, m.t, m.seq, literal(0), literal(-1)).where(m.from_rider.is_not(None)),
    ).subquery("changes")
    rider, t, seq, d_online, d_busy = tuple(changes.c)
    running: dict[str, Any] = {"partition_by": rider, "order_by": (t, seq)}
    levels = select(
        rider.label("rider_id"),
        t.label("begins"),
        func.coalesce(func.lead(t).over(**running), end).label("ends"),
        func.sum(d_online).over(**running).label("online"),
        func.sum(d_busy).over(**running).label("busy"),
    ).subquery("levels")
    lv = levels.c

    query = select(
        greatest(lv.begins, start).label("lo"),
        least(lv.ends, end).label("hi"),
        lv.busy,
    ).select_from(levels)
    if scope.warehouse_id is not None or scope.zone is not None:
        query = query.join(RiderRow, RiderRow.id == lv.rider_id)
    if scope.zone is not None:
        query = query.join(WarehouseRow, WarehouseRow.id == RiderRow.warehouse_id)
        query = query.where(WarehouseRow.zone == scope.zone)
    if scope.warehouse_id is not None:
        query = query.where(RiderRow.warehouse_id == scope.warehouse_id)
    return query.where(lv.online > 0, lv.ends > start, lv.begins < end).cte("seg")


def _total(segments) -> Select:
    s = segments.c
    return select(
        literal_column(f"'{TOTAL_KEY}'").label("key"),
        func.coalesce(func.sum(s.hi - s.lo), 0).label("online"),
        func.coalesce(func.sum(case((s.busy > 0, s.hi - s.lo), else_=0)), 0).label("busy"),
    )


def _per_bucket(segments, scope: KpiScope) -> Select:
    """Each segment cut at the bucket edges (a recursive CTE: one piece per bucket it spans),
    summed per bucket."""
    s = segments.c
    start, size = scope.start.timestamp(), scope.bucket.total_seconds()

    def edge_after(moment: ColumnElement) -> ColumnElement:
        return start + (floor_int((moment - start) / size) + 1) * size

    pieces = select(
        s.lo.label("lo"),
        least(s.hi, edge_after(s.lo)).label("cut"),
        s.hi.label("hi"),
        s.busy.label("busy"),
    ).cte("pieces", recursive=True)
    p = pieces.c
    pieces = pieces.union_all(
        select(p.cut, least(p.hi, p.cut + size), p.hi, p.busy).where(p.cut < p.hi)
    )
    p = pieces.c
    bucket = floor_int((p.lo - start) / size)
    length = p.cut - p.lo
    return (
        select(
            bucket.label("key"),
            func.sum(length).label("online"),
            func.sum(case((p.busy > 0, length), else_=0)).label("busy"),
        )
        .where(length > 0)
        .group_by(bucket)
    )
