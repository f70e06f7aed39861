"""Track replay: a rider's fixes over a time range, or an order's from pick-up to sign-off,
with the stops on the way and the timeline events of that time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound, Unprocessable
from backend.orders.lifecycle import RIDER_FREE_STATES
from backend.orders.models import OrderRow
from backend.orders.scope import order_scope
from backend.realtime.models import EventRow
from backend.riders.geo import centre
from backend.riders.models import RiderPositionRow
from backend.riders.service import MAX_CLOCK_SKEW, load_rider
from backend_client.geo import flat_metres
from backend_client.models import OrderState, Role, TrackPoint, TrackStop

DEFAULT_SPAN = timedelta(hours=1)
MAX_SPAN = timedelta(hours=24)
MAX_POINTS = 5_000
"""A track longer than this is thinned evenly: a day of fixes every second stays drawable."""
MAX_EVENTS = 5_000
STOP_RADIUS_M = 30.0
STOP_MINUTES = 2.0
"""Staying within STOP_RADIUS_M of where they stopped for over STOP_MINUTES is a stop."""


@dataclass(frozen=True, slots=True)
class TrackParts:
    """What a `Track` is made of, before the router turns events into wire events."""

    rider_id: int | None
    order_id: int | None
    since: datetime
    until: datetime
    points: list[TrackPoint]
    stops: list[TrackStop]
    events: list[EventRow]


def window(
    since: datetime | None, until: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The asked range: `until` defaults to now, `since` to an hour before `until`; refused
    (422) if it ends before it starts or spans more than a day."""
    until = until or now
    since = since or until - DEFAULT_SPAN
    if until < since:
        raise Unprocessable(f"until ({until.isoformat()}) is before since ({since.isoformat()})")
    if until - since > MAX_SPAN:
        raise Unprocessable(
            f"a track spans at most {MAX_SPAN.total_seconds() / 3600:g} hours; "
            f"asked for {(until - since).total_seconds() / 3600:.1f}"
        )
    return since, until


async def rider_track(
    session: AsyncSession,
    rider_id: int,
    principal: Principal,
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> TrackParts:
    """The rider's fixes and events from `since` to `until` (NotFound outside your scope)."""
    await load_rider(session, rider_id, principal)
    open_ended = until is None
    since, until = window(since, until, now=now)
    # Up to now: with the fixes a phone's clock put ahead of ours (accepted, and on the map).
    fixes = await _fixes(session, rider_id, since, now + MAX_CLOCK_SKEW if open_ended else until)
    if open_ended and fixes:
        until = max(until, fixes[-1].at)
    events = list(
        await session.scalars(
            select(EventRow)
            .where(
                EventRow.rider_id == rider_id,
                EventRow.at >= since,
                EventRow.at <= until,
                EventRow.seq.is_not(None),  # numbered: on the stream (see order_timeline)
            )
            .order_by(EventRow.id)
            .limit(MAX_EVENTS)
        )
    )
    if principal.role == Role.MERCHANT:
        # Its rider may have carried another warehouse's order: not the merchant's to read.
        events = [e for e in events if e.warehouse_id == principal.warehouse_id]
    return TrackParts(
        rider_id, None, since, until, thin(fixes, MAX_POINTS), find_stops(fixes), events
    )


async def order_track(
    session: AsyncSession, order_id: int, principal: Principal, *, now: datetime
) -> TrackParts:
    """The order's path from when it went out for delivery to when its rider let it go (signed,
    or now if still out), of each rider who carried it in turn, with its events of that time.
    An order never sent out has an empty track at `now`."""
    order = await session.scalar(
        select(OrderRow.id).where(OrderRow.id == order_id, order_scope(principal))
    )
    if order is None:
        raise NotFound(f"no order {order_id}")
    timeline = list(
        await session.scalars(
            select(EventRow)
            .where(EventRow.order_id == order_id, EventRow.seq.is_not(None))
            .order_by(EventRow.id)
        )
    )
    legs, events, still_out = carriers(timeline, now=now)
    if not legs:
        return TrackParts(None, order_id, now, now, [], [], [])
    since, until = legs[0][1], legs[-1][2]
    points: list[TrackPoint] = []
    stops: list[TrackStop] = []
    for number, (rider_id, start, end) in enumerate(legs, 1):
        if still_out and number == len(legs):
            # Still out: every fix the backend accepted belongs to it, those a phone's clock
            # put ahead of ours too (within the skew it accepts); else the map would show the
            # rider where the replay has not yet been.
            end = now + MAX_CLOCK_SKEW
        fixes = await _fixes(session, rider_id, start, end)
        points += fixes
        stops += find_stops(fixes)
    if points:
        until = max(until, points[-1].at)
    riders = {rider_id for rider_id, _, _ in legs}
    return TrackParts(
        riders.pop() if len(riders) == 1 else None,
        order_id,
        since,
        until,
        thin(points, MAX_POINTS),
        stops,
        events,
    )


def carriers(
    timeline: Sequence[EventRow], *, now: datetime
) -> tuple[list[tuple[int, datetime, datetime]], list[EventRow], bool]:
    """Who carried the order when, from its events: (rider, from, to) legs, the first from its
    first departure for delivery, the last to when a rider let it go (or now); the events
    from that departure to that end; and whether a rider still has it (the last leg is open)."""
    legs: list[tuple[int, datetime, datetime]] = []
    rider: int | None = None
    start: datetime | None = None
    events: list[EventRow] = []
    for event in timeline:
        departing = event.kind == "order.transition" and event.to_state == OrderState.DELIVERING
        if rider is None or start is None:
            if departing and event.rider_id is not None:
                rider, start = event.rider_id, event.at
                events.append(event)
            continue
        events.append(event)
        if event.kind == "order.transition" and event.to_state in RIDER_FREE_STATES:
            legs.append((rider, start, event.at))
            return legs, events, False
        if event.rider_id is not None and event.rider_id != rider:
            legs.append((rider, start, event.at))
            rider, start = event.rider_id, event.at
    if rider is not None and start is not None:
        legs.append((rider, start, max(start, now)))
        return legs, events, True
    return legs, events, False


async def _fixes(
    session: AsyncSession, rider_id: int, since: datetime, until: datetime
) -> list[TrackPoint]:
    track = RiderPositionRow
    rows = await session.execute(
        select(track.at, track.lat, track.lng, track.speed_kmh)
        .where(
            RiderPositionRow.rider_id == rider_id,
            RiderPositionRow.at >= since,
            RiderPositionRow.at <= until,
        )
        .order_by(RiderPositionRow.at)
    )
    points: list[TrackPoint] = []
    before = None
    for at, lat, lng, speed in rows:
        if speed is None and before is not None:
            hours = (at - before.at).total_seconds() / 3600
            if hours > 0:
                speed = round(flat_metres((before.lat, before.lng), (lat, lng)) / 1000 / hours, 1)
        before = TrackPoint(at=at, lat=lat, lng=lng, speed_kmh=speed)
        points.append(before)
    return points


def find_stops(
    points: Sequence[TrackPoint],
    *,
    radius_m: float = STOP_RADIUS_M,
    minutes: float = STOP_MINUTES,
) -> list[TrackStop]:
    """Where the rider stayed within `radius_m` of where they stopped for over `minutes`.

    A stop starts at a fix and lasts while the following fixes stay within `radius_m` of it;
    it is placed at the mean of its fixes.
    """
    stops: list[TrackStop] = []
    i = 0
    while i < len(points):
        anchor = (points[i].lat, points[i].lng)
        j = i + 1
        while j < len(points) and flat_metres(anchor, (points[j].lat, points[j].lng)) <= radius_m:
            j += 1
        last = points[j - 1]
        stayed = (last.at - points[i].at).total_seconds() / 60
        if stayed > minutes:
            lat, lng = centre([(p.lat, p.lng) for p in points[i:j]])
            stops.append(
                TrackStop(
                    start=points[i].at,
                    end=last.at,
                    lat=round(lat, 6),
                    lng=round(lng, 6),
                    minutes=round(stayed, 2),
                )
            )
            i = j
        else:
            i += 1
    return stops


def thin(points: list[TrackPoint], cap: int) -> list[TrackPoint]:
    """At most `cap` points, evenly spread over the track, first and last kept."""
    if len(points) <= cap:
        return points
    if cap < 2:
        return points[-cap:] if cap else []
    step = (len(points) - 1) / (cap - 1)
    return [points[round(k * step)] for k in range(cap)]
