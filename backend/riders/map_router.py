"""Routes for riders on the map: the delivery zones, track replay and a rider's next stops."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.deps import CanReadOrders, CanReadRiders, CanReadWarehouses
from backend.auth.principal import Principal
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import NotFound
from backend.orders.views import event_views_for
from backend.paths import OrderId, RiderId
from backend.responses import PROTECTED, errors
from backend.riders import next_stops, tracks, zones
from backend.riders.service import MAX_CLOCK_SKEW
from backend.tiers.reads import archived_order_session, rider_session
from backend_client.models import Moment, RiderRoute, Track, Zone

router = APIRouter(tags=["riders"], responses=PROTECTED)

RIDER_NOT_FOUND = errors({404: "No such rider in your scope."})
ORDER_NOT_FOUND = errors({404: "No such order in your scope."})


@router.get("/zones", response_model=list[Zone])
async def list_zones(
    db: DbDep,
    principal: CanReadWarehouses,
) -> list[Zone]:
    """Delivery zones with their polygons, by name (none until some are loaded: the demo
    seeds its city's)."""
    async with db.read() as session:
        return await zones.delivery_zones(session)


@router.get(
    "/riders/{rider_id}/track",
    response_model=Track,
    responses={
        **RIDER_NOT_FOUND,
        **errors({422: "`until` before `since`, or a range over 24 hours."}),
    },
)
async def get_rider_track(
    rider_id: RiderId,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadRiders,
    since: Annotated[
        Moment | None,
        Query(description="Start, with a zone (default: an hour before `until`)."),
    ] = None,
    until: Annotated[Moment | None, Query(description="End, with a zone (default: now).")] = None,
) -> Track:
    """The rider's fixes over a range (at most 24 h), with stops and their events, from
    the archive too for days that have moved there."""
    now = clock.now()
    first, last = tracks.window(since, until, now=now)
    if until is None:
        last = now + MAX_CLOCK_SKEW  # what rider_track reads for an open end
    async with rider_session(db, settings, rider_id, first, last) as session:
        parts = await tracks.rider_track(
            session, rider_id, principal, since=since, until=until, now=now
        )
    return _track(parts, principal)


@router.get("/orders/{order_id}/track", response_model=Track, responses=ORDER_NOT_FOUND)
async def get_order_track(
    order_id: OrderId,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadOrders,
) -> Track:
    """The order's path from pick-up to sign-off (or now), of each rider who carried it, with
    stops and the order's events of that time (archived orders too)."""
    try:
        async with db.read() as session:
            parts = await tracks.order_track(session, order_id, principal, now=clock.now())
    except NotFound:
        async with archived_order_session(db, settings, order_id) as archived:
            if archived is None:
                raise
            parts = await tracks.order_track(archived, order_id, principal, now=clock.now())
    return _track(parts, principal)


@router.get("/riders/{rider_id}/route", response_model=RiderRoute, responses=RIDER_NOT_FOUND)
async def get_rider_route(
    rider_id: RiderId,
    db: DbDep,
    clock: ClockDep,
    principal: CanReadRiders,
) -> RiderRoute:
    """The rider's next stops in sequence, with ETAs, for the map."""
    async with db.read() as session:
        return await next_stops.rider_route(session, rider_id, principal, now=clock.now())


def _track(parts: tracks.TrackParts, principal: Principal) -> Track:
    return Track(
        rider_id=parts.rider_id,
        order_id=parts.order_id,
        since=parts.since,
        until=parts.until,
        points=parts.points,
        stops=parts.stops,
        events=event_views_for(parts.events, principal),
    )
