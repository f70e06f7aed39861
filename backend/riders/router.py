"""Routes: riders, their shifts and their position batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.requests import HTTPConnection

from backend.auth.deps import (
    CanReadRiders,
    CanRegisterRiders,
    CanRelayPositions,
    CanReportPositions,
    CanSetRiderStatus,
)
from backend.auth.fields import FieldPolicy
from backend.deps import ClockDep, DbDep
from backend.eta.predictor import EtaPredictor
from backend.idempotency import IDEMPOTENT, run_once
from backend.paths import RiderId
from backend.realtime.deps import BusDep
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.riders import service
from backend_client.models import (
    NO_CONTROL_CHARS,
    FleetPositions,
    FleetPositionsResult,
    PositionBatch,
    PositionBatchResult,
    Rider,
    RiderRegistration,
    RiderStatus,
    RiderStatusUpdate,
)

router = APIRouter(tags=["riders"], responses=PROTECTED)

NOT_FOUND = errors({404: "No such rider in your scope."})


@dataclass(frozen=True, slots=True)
class FixRules:
    """What reading a batch of fixes needs from the instance, solved as one dependency (each
    one solved costs the write path: tests/backend/test_route_dependencies.py)."""

    still_radius_m: float
    """The stationary rule's radius: fixes this close together are a rider standing still."""
    eta: EtaPredictor | None
    """The instance's ETA (the learned model, or the straight line): backend/eta/."""


async def fix_rules(connection: HTTPConnection) -> FixRules:
    state = connection.app.state
    return FixRules(
        still_radius_m=state.runtime.alert_rules.rules.rider_stationary.radius_m,
        eta=getattr(state, "eta", None),
    )


FixRulesDep = Annotated[FixRules, Depends(fix_rules)]


@router.get("/riders", response_model=list[Rider])
async def list_riders(
    db: DbDep,
    principal: CanReadRiders,
    status: RiderStatus | None = None,
    warehouse_id: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)] = None,
) -> list[Rider]:
    """Riders in your scope with load, capacity and last fix."""
    async with db.read() as session:
        rows = await service.list_riders(
            session, principal, status=status, warehouse_id=warehouse_id
        )
    fields = FieldPolicy.of(principal)
    return [service.rider_view(r, fields) for r in rows]


@router.get("/riders/{rider_id}", response_model=Rider, responses=NOT_FOUND)
async def get_rider(
    rider_id: RiderId,
    db: DbDep,
    principal: CanReadRiders,
) -> Rider:
    """One rider with load, capacity and last fix."""
    async with db.read() as session:
        rider = await service.load_rider(session, rider_id, principal)
        return service.rider_view(rider, FieldPolicy.of(principal))


@router.post(
    "/riders/{rider_id}/status",
    response_model=Rider,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **errors({409: "Cannot go offline while carrying orders."}),
    },
    openapi_extra=IDEMPOTENT,
)
async def set_rider_status(
    rider_id: RiderId,
    body: RiderStatusUpdate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanSetRiderStatus,
):
    """Start or end a shift, or take a break."""
    now = clock.now()

    async def act(session):
        rider = await service.set_status(session, rider_id, body.status, actor=principal, now=now)
        return 200, service.rider_view(rider, FieldPolicy.of(principal))

    return await run_once(request, db, principal, now, act)


@router.post(
    "/riders/{rider_id}/positions",
    response_model=PositionBatchResult,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **errors({422: "Impossible positions; `detail` names each bad point by index."}),
    },
    openapi_extra=IDEMPOTENT,
)
async def upload_positions(
    rider_id: RiderId,
    body: PositionBatch,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    bus: BusDep,
    rules: FixRulesDep,
    principal: CanReportPositions,
):
    """Upload fixes: any order, duplicates allowed; impossible values refuse the whole batch."""
    now = clock.now()
    moved: list[dict] = []

    async def act(session):
        moved.clear()  # a transaction retried after a deadlock must not announce twice
        result = await service.record_positions(
            session,
            rider_id,
            body,
            actor=principal,
            now=now,
            still_radius_m=rules.still_radius_m,
            eta=rules.eta,
        )
        if result.moved:
            moved.append(_position_message(await service.load_rider(session, rider_id, principal)))
        return 200, result

    response = await run_once(request, db, principal, now, act)
    # Committed: now the newest fix may go out (latest wins, not in the durable stream).
    for position in moved:
        bus.announce_position(position)
    return response


@router.post(
    "/riders",
    response_model=list[Rider],
    status_code=201,
    responses={**TOO_LARGE, **errors({422: "A warehouse named does not exist."})},
    openapi_extra=IDEMPOTENT,
)
async def register_riders(
    body: RiderRegistration,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanRegisterRiders,
):
    """Register riders (a whole crew at once, all or none); they start offline unless told."""
    now = clock.now()

    async def act(session):
        rows = await service.register_riders(session, body.riders, actor=principal, now=now)
        fields = FieldPolicy.of(principal)
        return 201, [service.rider_view(r, fields) for r in rows]

    return await run_once(request, db, principal, now, act)


@router.post(
    "/positions",
    response_model=FleetPositionsResult,
    responses={
        **TOO_LARGE,
        **errors({422: "Impossible positions or unknown riders; `detail` names each."}),
    },
    openapi_extra=IDEMPOTENT,
)
async def upload_fleet_positions(
    body: FleetPositions,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    bus: BusDep,
    rules: FixRulesDep,
    principal: CanRelayPositions,
):
    """Many riders' fixes in one request, as a location gateway relays them: per rider, the
    same rules as `/riders/{id}/positions`; anything impossible refuses the whole request."""
    now = clock.now()
    moved: list[dict] = []

    async def act(session):
        moved.clear()  # a transaction retried after a deadlock must not announce twice
        result, riders = await service.record_fleet_positions(
            session,
            body,
            actor=principal,
            now=now,
            still_radius_m=rules.still_radius_m,
            eta=rules.eta,
        )
        moved.extend(_position_message(r) for r in riders)
        return 200, result

    response = await run_once(request, db, principal, now, act)
    for position in moved:
        bus.announce_position(position)
    return response


def _position_message(rider) -> dict:
    return {
        "rider_id": rider.id,
        "warehouse_id": rider.warehouse_id,
        "lat": rider.last_lat,
        "lng": rider.last_lng,
        "at": rider.last_fix_at.isoformat(),
    }
