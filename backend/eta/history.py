"""Freshline's own history as examples for the learned ETA: every delivered order, its rider's
track while it was out, and at each sampled fix what the live ETA would have seen then
(`features.chain`, the same code) against when it was actually delivered.

`load_day` reads a day of the database (signed orders and the fixes of their riders); the
bench and the tests build the same `RiderHistory` from `backend/sim/replay.py` without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from statistics import median

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.eta import features
from backend.orders.models import OrderRow
from backend.riders.geo import metres
from backend.riders.models import RiderPositionRow

SAMPLE_EVERY = timedelta(minutes=2)
"""One example per order out for delivery every this long along its rider's track: enough
to see every phase of a trip, few enough that a month fits in memory."""
LONGEST = timedelta(hours=3)
"""An order out longer than this was stuck (an exception, a return): not an ETA to learn."""
MOVING_KMH = 3.0
"""Fixes faster than this count towards a rider's usual riding speed."""


@dataclass(frozen=True, slots=True)
class Fix:
    at: datetime
    lat: float
    lng: float
    speed_kmh: float | None


@dataclass(frozen=True, slots=True)
class Drop:
    """A delivered order: out for delivery from `out_at`, delivered (signed) at `done_at`."""

    stop: features.Stop
    out_at: datetime
    done_at: datetime


@dataclass
class RiderHistory:
    """A rider's fixes and the orders they delivered over some span, oldest first."""

    rider_id: int
    fixes: list[Fix] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Example:
    """What the live ETA saw of one order at one fix, and when it was delivered."""

    rider_id: int
    at: datetime
    leg: features.Leg
    pace_kmh: float
    done_at: datetime

    @property
    def minutes(self) -> float:
        """The truth: minutes from the fix to the delivery."""
        return (self.done_at - self.at).total_seconds() / 60

    @property
    def straight_minutes(self) -> float:
        return (self.leg.straight_at - self.at).total_seconds() / 60

    @property
    def promise_minutes(self) -> float:
        return (self.leg.stop.promised_at - self.at).total_seconds() / 60


def examples(histories: Iterable[RiderHistory], every: timedelta = SAMPLE_EVERY) -> list[Example]:
    """Walk each rider's track as the live ETA would, keeping the rider's pace the same way,
    and take an example of every order out every `every`."""
    found: list[Example] = []
    for history in histories:
        drops = sorted(history.drops, key=lambda d: d.out_at)
        pace: float | None = None
        previous: Fix | None = None
        sampled_at: datetime | None = None
        taken = 0
        out: list[Drop] = []
        for fix in history.fixes:
            # The orders out at this fix: those gone out by now and not yet delivered.
            while taken < len(drops) and drops[taken].out_at <= fix.at:
                out.append(drops[taken])
                taken += 1
            out = [d for d in out if fix.at < d.done_at]
            if not out:
                pace, previous = None, fix  # no order out: the pace is kept on orders only
                continue
            pace = features.next_pace(pace, _measured(fix, previous))
            previous = fix
            if sampled_at is not None and fix.at - sampled_at < every:
                continue
            sampled_at = fix.at
            done = {d.stop.order_id: d.done_at for d in out}
            for leg in features.chain((fix.lat, fix.lng), fix.at, pace, [d.stop for d in out]):
                done_at = done[leg.stop.order_id]
                if done_at - fix.at <= LONGEST:
                    found.append(Example(history.rider_id, fix.at, leg, pace, done_at))
    return found


def _measured(fix: Fix, previous: Fix | None) -> float | None:
    """As `progress` measures a batch: the phone's speed, else distance over time."""
    if fix.speed_kmh is not None:
        return fix.speed_kmh
    if previous is None:
        return None
    hours = (fix.at - previous.at).total_seconds() / 3600
    if hours <= 0:
        return None
    return metres((previous.lat, previous.lng), (fix.lat, fix.lng)) / 1000 / hours


def rider_speeds(histories: Iterable[RiderHistory]) -> dict[int, float]:
    """Each rider's usual riding speed: the median of their moving fixes."""
    speeds: dict[int, list[float]] = {}
    for history in histories:
        kept = speeds.setdefault(history.rider_id, [])
        kept += [
            f.speed_kmh
            for f in history.fixes
            if f.speed_kmh is not None and f.speed_kmh > MOVING_KMH
        ]
    return {rider: median(values) for rider, values in speeds.items() if values}


def matrix(
    found: Sequence[Example], zones: Sequence[str], riders: dict[int, float], tz: tzinfo
) -> list[list[float]]:
    """The examples' model inputs (columns as `features.FEATURES`)."""
    return [features.row(e.leg, e.at, e.pace_kmh, riders.get(e.rider_id), zones, tz) for e in found]


async def load_day(session: AsyncSession, since: datetime, until: datetime) -> list[RiderHistory]:
    """The orders signed in [since, until) with their riders' fixes while they were out."""
    orders = (
        await session.execute(
            select(
                OrderRow.id,
                OrderRow.rider_id,
                OrderRow.lat,
                OrderRow.lng,
                OrderRow.promised_at,
                OrderRow.zone,
                OrderRow.weight_g,
                OrderRow.cold_chain,
                OrderRow.delivering_at,
                OrderRow.signed_at,
            ).where(
                OrderRow.signed_at >= since,
                OrderRow.signed_at < until,
                OrderRow.delivering_at.is_not(None),
                OrderRow.rider_id.is_not(None),
            )
        )
    ).all()
    histories: dict[int, RiderHistory] = {}
    for oid, rider_id, lat, lng, promised_at, zone, weight_g, cold, out_at, done_at in orders:
        if out_at is None or done_at is None or rider_id is None or done_at <= out_at:
            continue
        stop = features.Stop(oid, lat, lng, promised_at, zone, weight_g, cold)
        history = histories.setdefault(rider_id, RiderHistory(rider_id))
        history.drops.append(Drop(stop, out_at, done_at))
    for rider_id, history in histories.items():
        start = min(d.out_at for d in history.drops)
        end = max(d.done_at for d in history.drops)
        history.fixes = [
            Fix(at, lat, lng, speed)
            for at, lat, lng, speed in await session.execute(
                select(
                    RiderPositionRow.at,
                    RiderPositionRow.lat,
                    RiderPositionRow.lng,
                    RiderPositionRow.speed_kmh,
                )
                .where(
                    RiderPositionRow.rider_id == rider_id,
                    RiderPositionRow.at >= start,
                    RiderPositionRow.at <= end,
                )
                .order_by(RiderPositionRow.at)
            )
        ]
    return list(histories.values())
