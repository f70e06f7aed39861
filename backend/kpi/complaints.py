"""The complaint KPI: complaints opened in the window per 100 orders delivered (signed) in it,
by channel, warehouse and category. Two grouped queries (delivered orders by channel and
warehouse, complaints by channel, warehouse and category); every breakdown is summed from
their rows, so the parts always add up to the total."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kpi.orders import count_if
from backend.kpi.scope import KpiScope
from backend.orders.models import OrderRow
from backend.returns.models import ReturnRequestRow
from backend_client.models import ComplaintKpis, ComplaintRate, RequestKind, RequestState

Pair = tuple[str, str]
"""(channel, warehouse id)"""


async def _delivered(session: AsyncSession, scope: KpiScope) -> Counter[Pair]:
    o = OrderRow
    query = (
        select(o.channel, o.warehouse_id, func.count())
        .where(o.signed_at >= scope.start, o.signed_at < scope.end, *scope.order_filters())
        .group_by(o.channel, o.warehouse_id)
    )
    return Counter(
        {(channel, warehouse): int(n) for channel, warehouse, n in await session.execute(query)}
    )


async def _complaints(
    session: AsyncSession, scope: KpiScope
) -> tuple[Counter[tuple[str, str, str]], int]:
    """Complaints by (channel, warehouse, category), and how many of them are resolved."""
    o, r = OrderRow, ReturnRequestRow
    query = (
        select(
            o.channel,
            r.warehouse_id,
            r.category,
            func.count(),
            count_if(r.state == RequestState.RESOLVED),
        )
        .join(o, o.id == r.order_id)
        .where(
            r.kind == RequestKind.COMPLAINT,
            r.opened_at >= scope.start,
            r.opened_at < scope.end,
            *scope.order_filters(),
        )
        .group_by(o.channel, r.warehouse_id, r.category)
    )
    counts: Counter[tuple[str, str, str]] = Counter()
    done = 0
    for channel, warehouse, category, n, closed in await session.execute(query):
        counts[(channel, warehouse, category or "other")] += int(n)
        done += int(closed)
    return counts, done


def per_100(complaints: int, delivered: int) -> float | None:
    """100 x complaints / delivered; None with nothing delivered."""
    return None if not delivered else 100.0 * complaints / delivered


def _rates(complaints: Counter[str], delivered: Counter[str]) -> list[ComplaintRate]:
    return [
        ComplaintRate(
            key=key,
            complaints=complaints[key],
            delivered=delivered[key],
            per_100_delivered=per_100(complaints[key], delivered[key]),
        )
        for key in sorted(set(complaints) | set(delivered))
    ]


async def complaint_kpis(session: AsyncSession, scope: KpiScope) -> ComplaintKpis:
    """The window's complaint KPI, with the previous window's rate to compare."""
    delivered = await _delivered(session, scope)
    complaints, resolved = await _complaints(session, scope)
    total_delivered = sum(delivered.values())
    total = sum(complaints.values())
    by_channel: Counter[str] = Counter()
    by_warehouse: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for (channel, warehouse, category), n in complaints.items():
        by_channel[channel] += n
        by_warehouse[warehouse] += n
        by_category[category] += n
    delivered_by_channel: Counter[str] = Counter()
    delivered_by_warehouse: Counter[str] = Counter()
    for (channel, warehouse), n in delivered.items():
        delivered_by_channel[channel] += n
        delivered_by_warehouse[warehouse] += n
    before = scope.previous()
    before_delivered = sum((await _delivered(session, before)).values())
    before_complaints = sum((await _complaints(session, before))[0].values())
    return ComplaintKpis(
        complaints=total,
        resolved=resolved,
        delivered=total_delivered,
        per_100_delivered=per_100(total, total_delivered),
        previous_per_100_delivered=per_100(before_complaints, before_delivered),
        by_channel=_rates(by_channel, delivered_by_channel),
        by_warehouse=_rates(by_warehouse, delivered_by_warehouse),
        by_category=[
            ComplaintRate(
                key=category,
                complaints=n,
                delivered=total_delivered,
                per_100_delivered=per_100(n, total_delivered),
            )
            for category, n in sorted(by_category.items())
        ],
    )
