"""The orders forecast per zone and clock hour, and the riders it needs.

The method, a seasonal mean: the orders a zone will get in an hour are the mean of the orders
it got in the same hour of the same weekday over the last `weeks` weeks (the hour exactly 7,
14, ... days earlier), counting only weeks the history reaches back to (a backend with one
week of orders forecasts from that week, not from three empty ones). Orders are counted by
when they were created, cancelled ones too: they were demand. Hours are clock hours of UTC,
which are the business zone's hours wherever its offset is whole hours; a week back is 168
hours, so the weekday and hour are the local ones except across a daylight-saving change.

Riders needed for an hour: the forecast divided by the orders one rider delivers in an hour
(`orders_per_rider_hour`), rounded up. Riders planned: the rider-hours of the zone's planned
shifts within the hour (a shift covering half of it counts half a rider).

Pure arithmetic (`seasonal_mean`, `riders_needed`, `rider_hours`) apart from the two reads
that feed it, so it is tested on known history without a clock.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.orders.models import OrderRow
from backend.staffing.models import ShiftRow

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


def hour_floor(moment: datetime) -> datetime:
    """The start of the clock hour `moment` is in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def hours_from(first: datetime, count: int) -> list[datetime]:
    """`count` clock hours from `first` (itself an hour's start)."""
    return [first + i * HOUR for i in range(count)]


@dataclass(frozen=True, slots=True)
class HourForecast:
    """The orders expected in one zone in one hour, and how many weeks of history say so."""

    orders: float
    weeks: int


def seasonal_mean(counts_by_week: Sequence[int]) -> HourForecast:
    """The mean of one hour's orders over the weeks with history (an empty list: none)."""
    if not counts_by_week:
        return HourForecast(0.0, 0)
    return HourForecast(sum(counts_by_week) / len(counts_by_week), len(counts_by_week))


def riders_needed(orders: float, orders_per_rider_hour: float) -> int:
    """Riders to carry `orders` in an hour, each `orders_per_rider_hour`: rounded up (a
    forecast of 0.2 orders still needs someone), never from float dust (3.0000001 is 3)."""
    if orders <= 0:
        return 0
    return math.ceil(round(orders / orders_per_rider_hour, 6))


def rider_hours(shifts: Iterable[tuple[datetime, datetime]], hour: datetime) -> float:
    """The rider-hours `shifts` ([start, end) each) put into the hour starting at `hour`."""
    end = hour + HOUR
    covered = timedelta()
    for starts_at, ends_at in shifts:
        overlap = min(ends_at, end) - max(starts_at, hour)
        if overlap > timedelta():
            covered += overlap
    return covered / HOUR


class Forecast:
    """The forecast for every zone and each hour asked: `of(zone, hour)`."""

    def __init__(
        self, weeks: dict[datetime, list[int]], counts: dict[tuple[str, int, datetime], int]
    ):
        self._weeks = weeks
        self._counts = counts

    def of(self, zone: str, hour: datetime) -> HourForecast:
        """The mean over the weeks the history reaches back to for this hour (none: 0)."""
        return seasonal_mean([self._counts.get((zone, k, hour), 0) for k in self._weeks[hour]])


async def forecast(session: AsyncSession, first: datetime, count: int, *, weeks: int) -> Forecast:
    """The forecast for each of `count` clock hours from `first`, from the last `weeks` weeks:
    for each hour, a week k counts when the history reaches back to that hour k weeks ago (an
    order then or before)."""
    hours = hours_from(first, count)
    earliest = await session.scalar(select(func.min(OrderRow.created_at)))
    reached = hour_floor(earliest) if earliest is not None else None
    used = {
        hour: [k for k in range(1, weeks + 1) if reached is not None and hour - k * WEEK >= reached]
        for hour in hours
    }
    counts: dict[tuple[str, int, datetime], int] = {}
    for k in sorted({k for ks in used.values() for k in ks}):
        back = k * WEEK
        # One read per week: the orders of each of its hours, counted in the database.
        columns = [
            func.sum(
                case(
                    (
                        (OrderRow.created_at >= hour - back)
                        & (OrderRow.created_at < hour - back + HOUR),
                        1,
                    ),
                    else_=0,
                )
            )
            for hour in hours
        ]
        rows = await session.execute(
            select(OrderRow.zone, *columns)
            .where(
                OrderRow.created_at >= first - back,
                OrderRow.created_at < first - back + count * HOUR,
            )
            .group_by(OrderRow.zone)
        )
        for zone, *sums in rows:
            for hour, total in zip(hours, sums, strict=True):
                counts[zone, k, hour] = int(total or 0)
    return Forecast(used, counts)


async def planned_shifts(
    session: AsyncSession, first: datetime, end: datetime
) -> dict[str, list[tuple[int, datetime, datetime]]]:
    """Each zone's shifts overlapping [first, end): (rider, start, end)."""
    rows = await session.execute(
        select(ShiftRow.zone, ShiftRow.rider_id, ShiftRow.starts_at, ShiftRow.ends_at).where(
            ShiftRow.ends_at > first, ShiftRow.starts_at < end
        )
    )
    found: dict[str, list[tuple[int, datetime, datetime]]] = defaultdict(list)
    for zone, rider_id, starts_at, ends_at in rows:
        found[zone].append((rider_id, starts_at, ends_at))
    return found
