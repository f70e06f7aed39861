"""The order cohorts behind the KPIs, each one SQL query over the order rows (and the event
log for who cancelled), grouped by a key: one total, per channel, or per time bucket.

- created in the window: orders, value, losses (out of stock, damaged, returned), exceptions;
- signed in the window: on time or not, and the minutes from payment to signature;
- promised in the window (and paid): due, and of those, fulfilled (signed), less the orders
  the customer's side cancelled (a cancel by the channel account: changed their mind, never
  paid, or turned down a substitute).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kpi.scope import TOTAL_KEY, Grouping, GroupKey, KpiScope
from backend.kpi.sql import epoch
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend_client.models import OrderState, Role

Rows = dict[Hashable, dict[str, Any]]


def count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def keyed(key: GroupKey | None) -> ColumnElement:
    """The key column to select: the group key, or the total's marker."""
    return (key if key is not None else literal_column(f"'{TOTAL_KEY}'")).label("key")


def grouped(query: Select, key: GroupKey | None) -> Select:
    return query if key is None else query.group_by(key)


async def created_cohort(session: AsyncSession, scope: KpiScope, grouping: Grouping) -> Rows:
    """Orders created in the window: how many, their value, losses and exceptions."""
    o = OrderRow
    key = scope.key(grouping, o.created_at)
    out_of_stock = o.out_of_stock_at.is_not(None)
    damaged = o.claiming_at.is_not(None)
    returned = o.returning_at.is_not(None)
    columns = [
        keyed(key),
        func.count().label("orders"),
        func.coalesce(func.sum(o.amount_cents), 0).label("amount_cents"),
        count_if(out_of_stock).label("out_of_stock"),
        count_if(damaged).label("damaged"),
        count_if(returned).label("returned"),
        count_if(or_(out_of_stock, damaged, returned)).label("lost"),
        count_if(o.exception_at.is_not(None)).label("exceptions"),
    ]
    by_channel = grouping == Grouping.BUCKET
    if by_channel:
        columns.append(o.channel)  # a bucket also tells its orders per channel
    query = grouped(
        select(*columns).where(
            o.created_at >= scope.start, o.created_at < scope.end, *scope.order_filters()
        ),
        key,
    )
    if by_channel:
        query = query.group_by(o.channel)
    rows: Rows = {}
    for row in (await session.execute(query)).mappings():
        held = rows.setdefault(row["key"], {"orders_by_channel": {}})
        for name, value in row.items():
            if name not in ("key", "channel"):
                held[name] = held.get(name, 0) + int(value)
        if by_channel:
            held["orders_by_channel"][row["channel"]] = int(row["orders"])
    return rows


async def signed_cohort(session: AsyncSession, scope: KpiScope, grouping: Grouping) -> Rows:
    """Orders signed in the window: on time, and paid-to-signed minutes (mean and p90)."""
    o = OrderRow
    key = scope.key(grouping, o.signed_at)
    paid = func.coalesce(o.paid_at, o.created_at)
    delivered = (
        select(
            keyed(key),
            ((epoch(o.signed_at) - epoch(paid)) / 60.0).label("minutes"),
            case((o.signed_at <= o.promised_at, 1), else_=0).label("on_time"),
        )
        .where(o.signed_at >= scope.start, o.signed_at < scope.end, *scope.order_filters())
        .cte("delivered")
    )
    d = delivered.c
    partition: dict[str, Any] = {"partition_by": d.key} if key is not None else {}
    ranked = select(
        d.key,
        d.minutes,
        d.on_time,
        func.row_number().over(order_by=d.minutes, **partition).label("rank"),
        func.count().over(**partition).label("n"),
        # The rank among every group's rows too: each group's smallest value past the overall
        # 90 % mark, and the least of those over the groups is the overall p90 (`merged`).
        func.row_number().over(order_by=d.minutes).label("rank_all"),
        func.count().over().label("n_all"),
    ).cte("ranked")
    r = ranked.c
    # Nearest-rank percentile: the smallest value whose rank reaches 90 % of the count.
    p90 = func.min(case((r.rank >= 0.9 * r.n, r.minutes)))
    p90_all = func.min(case((r.rank_all >= 0.9 * r.n_all, r.minutes)))
    query = select(
        r.key,
        func.count().label("signed"),
        func.sum(r.on_time).label("on_time"),
        func.sum(r.minutes).label("minutes_sum"),
        p90.label("minutes_p90"),
        p90_all.label("p90_all"),
    )
    query = query.group_by(r.key)  # a CTE column: fine to group by, even the total's marker
    return {
        row["key"]: {
            "signed": int(row["signed"]),
            "on_time": int(row["on_time"] or 0),
            "minutes_sum": float(row["minutes_sum"] or 0),
            "delivery_minutes_avg": row["minutes_sum"] / row["signed"],
            "delivery_minutes_p90": _float(row["minutes_p90"]),
            "p90_all": _float(row["p90_all"]),
        }
        for row in (await session.execute(query)).mappings()
    }


ADDITIVE = (
    "orders",
    "amount_cents",
    "out_of_stock",
    "damaged",
    "returned",
    "lost",
    "exceptions",
    "signed",
    "on_time",
    "minutes_sum",
    "due",
    "fulfilled",
)


def merged(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """One total from every group's cohort numbers (per channel: the channels partition the
    orders): counts add up, the mean is re-weighted, p90 is the least of the partials."""
    total: dict[str, Any] = {name: 0 for name in ADDITIVE}
    partials = []
    for values in groups:
        for name in ADDITIVE:
            total[name] += values.get(name, 0)
        if values.get("p90_all") is not None:
            partials.append(values["p90_all"])
    if total["signed"]:
        total["delivery_minutes_avg"] = total["minutes_sum"] / total["signed"]
        total["delivery_minutes_p90"] = min(partials)
    return total


async def due_cohort(session: AsyncSession, scope: KpiScope, grouping: Grouping) -> Rows:
    """Paid orders whose promise fell in the window, less customer cancellations: how many
    were due, and how many of those were signed."""
    o = OrderRow
    key = scope.key(grouping, o.promised_at)
    # Who cancelled it, asked only of cancelled orders, one index lookup each (a scalar
    # subquery: PostgreSQL would turn an EXISTS into a scan of every cancellation in the log).
    canceller = (
        select(EventRow.role)
        .where(EventRow.order_id == o.id, EventRow.to_state == OrderState.CANCELLED)
        .order_by(EventRow.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    cancelled_by_customer = case(
        (o.cancelled_at.is_(None), false()),
        else_=func.coalesce(canceller, "") == Role.CHANNEL,
    )
    query = grouped(
        select(
            keyed(key),
            func.count().label("due"),
            count_if(o.signed_at.is_not(None)).label("fulfilled"),
        ).where(
            o.promised_at >= scope.start,
            o.promised_at < scope.end,
            o.paid_at.is_not(None),
            ~cancelled_by_customer,
            *scope.order_filters(),
        ),
        key,
    )
    return {
        row["key"]: {"due": int(row["due"]), "fulfilled": int(row["fulfilled"])}
        for row in (await session.execute(query)).mappings()
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
