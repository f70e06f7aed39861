"""KPI answers: figures for a window, the summary (with the previous window and per channel),
the time series and the trouble breakdown. Every number comes from SQL over the order rows
and the event log (`orders.py`, `riders.py`, `trouble.py`); here they are only put together."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Unprocessable
from backend.kpi.complaints import complaint_kpis
from backend.kpi.orders import created_cohort, due_cohort, merged, signed_cohort
from backend.kpi.riders import utilisation
from backend.kpi.scope import MAX_BUCKETS, MAX_WINDOW, TOTAL_KEY, Grouping, KpiScope
from backend.kpi.sensors import sensor_kpis
from backend.kpi.trouble import trouble
from backend_client.models import (
    Channel,
    ChannelKpis,
    KpiBucket,
    KpiExceptions,
    KpiFigures,
    KpiSeries,
    KpiSummary,
    KpiWindow,
)


def scope_for(
    *,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    default_length: timedelta,
    channel: str | None = None,
    warehouse_id: str | None = None,
    zone: str | None = None,
    bucket_minutes: int = 15,
) -> KpiScope:
    """The window asked for, with `end` clipped to now (the future has no figures yet);
    Unprocessable when it is empty, reversed or too long."""
    end = min(end or now, now)
    start = start or end - default_length
    if start >= end:
        raise Unprocessable("the window is empty: start must be before end (and before now)")
    if end - start > MAX_WINDOW:
        raise Unprocessable(f"the window is longer than {MAX_WINDOW.days} days")
    scope = KpiScope(
        start=start,
        end=end,
        channel=channel,
        warehouse_id=warehouse_id,
        zone=zone,
        bucket=timedelta(minutes=bucket_minutes),
    )
    return scope


def window_of(scope: KpiScope) -> KpiWindow:
    return KpiWindow(
        start=scope.start,
        end=scope.end,
        channel=scope.channel,
        warehouse_id=scope.warehouse_id,
        zone=scope.zone,
    )


Gathered = dict[Hashable, tuple[dict[str, Any], dict[str, float] | None]]


async def _gather(session: AsyncSession, scope: KpiScope, grouping: Grouping) -> Gathered:
    """Each cohort's numbers and the riders' time, merged by key."""
    parts = [
        await created_cohort(session, scope, grouping),
        await signed_cohort(session, scope, grouping),
        await due_cohort(session, scope, grouping),
    ]
    rider_time = await utilisation(session, scope, grouping)
    keys = set().union(*parts) | set(rider_time)
    if grouping == Grouping.TOTAL:
        keys.add(TOTAL_KEY)
    per_rider_key = grouping != Grouping.CHANNEL and scope.channel is None
    gathered: Gathered = {}
    for key in keys:
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part.get(key, {}))
        riders = rider_time.get(key)
        if riders is None and per_rider_key:
            riders = {"online": 0.0, "busy": 0.0}  # nobody online: zero, not unknown
        gathered[key] = (merged, riders)
    return gathered


def _figures(values: dict[str, Any], riders: dict[str, float] | None) -> KpiFigures:
    def count(name: str) -> int:
        return int(values.get(name, 0))

    online = riders["online"] / 60 if riders is not None else None
    busy = riders["busy"] / 60 if riders is not None else None
    return KpiFigures(
        orders=count("orders"),
        amount_cents=count("amount_cents"),
        due=count("due"),
        fulfilled=count("fulfilled"),
        fulfilment_rate=_rate(count("fulfilled"), count("due")),
        signed=count("signed"),
        on_time=count("on_time"),
        on_time_rate=_rate(count("on_time"), count("signed")),
        delivery_minutes_avg=values.get("delivery_minutes_avg"),
        delivery_minutes_p90=values.get("delivery_minutes_p90"),
        out_of_stock=count("out_of_stock"),
        damaged=count("damaged"),
        returned=count("returned"),
        lost=count("lost"),
        loss_rate=_rate(count("lost"), count("orders")),
        exceptions=count("exceptions"),
        exception_rate=_rate(count("exceptions"), count("orders")),
        online_minutes=online,
        delivering_minutes=busy,
        rider_utilisation=_rate(busy, online) if online is not None else None,
    )


def _rate(part: float | None, whole: float | None) -> float | None:
    if not whole or part is None:
        return None
    return part / whole


async def summary(session: AsyncSession, scope: KpiScope, *, now: datetime) -> KpiSummary:
    """The window's KPIs, the previous window's, and the window's per channel."""
    current, per_channel = await _total_and_channels(session, scope)
    previous, _ = await _total_and_channels(session, scope.previous())
    by_channel = [
        ChannelKpis(channel=Channel(channel), figures=per_channel[channel])
        for channel in Channel
        if channel in per_channel
    ]
    return KpiSummary(
        window=window_of(scope),
        current=current,
        previous=previous,
        by_channel=by_channel,
        computed_at=now,
        sensors=await sensor_kpis(session, scope),
        complaints=await complaint_kpis(session, scope),
    )


async def _total_and_channels(
    session: AsyncSession, scope: KpiScope
) -> tuple[KpiFigures, dict[Hashable, KpiFigures]]:
    """Per channel, and the total from the same rows (one pass over each cohort, not two)."""
    gathered = await _gather(session, scope, Grouping.CHANNEL)
    total = merged([values for values, _ in gathered.values()])
    riders = (await utilisation(session, scope, Grouping.TOTAL)).get(TOTAL_KEY)
    if riders is None and scope.channel is None:
        riders = {"online": 0.0, "busy": 0.0}
    per_channel = {key: _figures(values, riders_) for key, (values, riders_) in gathered.items()}
    return _figures(total, riders), per_channel


async def series(session: AsyncSession, scope: KpiScope) -> KpiSeries:
    """The KPIs bucket by bucket, every bucket of the window present (empty ones at zero)."""
    if scope.bucket_count > MAX_BUCKETS:
        raise Unprocessable(
            f"{scope.bucket_count} buckets is too many (at most {MAX_BUCKETS}): "
            "ask for a shorter window or longer buckets"
        )
    gathered = await _gather(session, scope, Grouping.BUCKET)
    empty: tuple[dict[str, Any], dict[str, float] | None] = (
        {},
        None if scope.channel else {"online": 0.0, "busy": 0.0},
    )
    buckets = []
    for n in range(scope.bucket_count):
        values, riders = gathered.get(n, empty)
        buckets.append(
            KpiBucket(
                start=scope.start + scope.bucket * n,
                figures=_figures(values, riders),
                orders_by_channel=values.get("orders_by_channel", {}),
            )
        )
    return KpiSeries(
        window=window_of(scope),
        bucket_minutes=int(scope.bucket.total_seconds() // 60),
        buckets=buckets,
    )


async def exceptions(session: AsyncSession, scope: KpiScope) -> KpiExceptions:
    by_state, by_reason = await trouble(session, scope)
    return KpiExceptions(window=window_of(scope), by_state=by_state, by_reason=by_reason)


async def figures_by_channel(
    session: AsyncSession, scope: KpiScope
) -> tuple[KpiFigures, dict[str, KpiFigures]]:
    """The window's figures and each channel's, as `summary` computes its `current` and
    `by_channel` (the day report reads the same numbers, without the previous window)."""
    total, per_channel = await _total_and_channels(session, scope)
    return total, {str(key): figures for key, figures in per_channel.items()}
