"""Routes: riders' shifts (the roster), moving a rider to another zone, and the staffing view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.auth.deps import CanManageShifts, CanMoveRiders, CanReadShifts, CanReadStaffing
from backend.auth.fields import FieldPolicy
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.paths import RiderId
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.riders.service import rider_view
from backend.staffing import service
from backend.staffing.view import staffing
from backend_client.models import Moment, Rider
from backend_client.models.staffing import (
    RiderMove,
    Shift,
    ShiftCreate,
    ShiftUpdate,
    Staffing,
)

router = APIRouter(tags=["staffing"], responses=PROTECTED)

ShiftId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Shift id.")]
NOT_FOUND = errors({404: "No such rider in your scope, or no such shift of theirs."})
REFUSED = errors(
    {
        409: "Overlaps another shift of the rider (`shift_id` names it), or a stale `version`.",
        422: "Ends before it starts, longer than `shift_max_hours`, over already, or no "
        "warehouse serves the zone.",
    }
)


@dataclass(frozen=True, slots=True)
class ForecastFigures:
    """What the forecast is computed with: the `[understaffed_zone]` rule's figures in force
    (one source for the screen and the alert; read off the rule book, which sits above us)."""

    orders_per_rider_hour: float
    history_weeks: int


async def staffing_rule(connection: HTTPConnection) -> ForecastFigures:
    rule = connection.app.state.runtime.alert_rules.rules.understaffed_zone
    return ForecastFigures(rule.orders_per_rider_hour, rule.history_weeks)


StaffingRule = Annotated[ForecastFigures, Depends(staffing_rule)]


@router.get("/riders/{rider_id}/shifts", response_model=list[Shift], responses=NOT_FOUND)
async def list_shifts(
    rider_id: RiderId,
    db: DbDep,
    principal: CanReadShifts,
    since: Annotated[Moment | None, Query(description="Shifts ending after this.")] = None,
    until: Annotated[Moment | None, Query(description="Shifts starting before this.")] = None,
) -> list[Shift]:
    """A rider's planned shifts, by start (a rider reads their own, the store its riders')."""
    async with db.read() as session:
        rows = await service.list_shifts(session, rider_id, principal, since=since, until=until)
        return [service.shift_view(r, principal) for r in rows]


@router.post(
    "/riders/{rider_id}/shifts",
    response_model=Shift,
    status_code=201,
    responses={**NOT_FOUND, **REFUSED, **TOO_LARGE},
    openapi_extra=IDEMPOTENT,
)
async def add_shift(
    rider_id: RiderId,
    body: ShiftCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanManageShifts,
):
    """Plan a shift: [starts_at, ends_at) in a zone."""
    now = clock.now()

    async def act(session: AsyncSession):
        row = await service.add_shift(
            session, rider_id, body, actor=principal, now=now, max_hours=settings.shift_max_hours
        )
        return 201, service.shift_view(row, principal)

    return await run_once(request, db, principal, now, act)


@router.patch(
    "/riders/{rider_id}/shifts/{shift_id}",
    response_model=Shift,
    responses={**NOT_FOUND, **REFUSED, **TOO_LARGE},
)
async def change_shift(
    rider_id: RiderId,
    shift_id: ShiftId,
    body: ShiftUpdate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanManageShifts,
):
    """Move a shift's start, end or zone; checked again as when it was planned."""
    now = clock.now()

    async def act(session: AsyncSession):
        row = await service.change_shift(
            session,
            rider_id,
            shift_id,
            body,
            actor=principal,
            now=now,
            max_hours=settings.shift_max_hours,
        )
        return 200, service.shift_view(row, principal)

    return await run_once(request, db, principal, now, act)


@router.delete("/riders/{rider_id}/shifts/{shift_id}", status_code=204, responses=NOT_FOUND)
async def remove_shift(
    rider_id: RiderId,
    shift_id: ShiftId,
    db: DbDep,
    clock: ClockDep,
    principal: CanManageShifts,
) -> None:
    """Take a shift off the roster."""
    now = clock.now()

    async def job(session: AsyncSession) -> None:
        await service.remove_shift(session, rider_id, shift_id, actor=principal, now=now)

    await db.write(job)


@router.post(
    "/riders/{rider_id}/zone",
    response_model=Rider,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **errors(
            {
                409: "The rider carries orders: hand them over first.",
                422: "No warehouse serves the zone.",
            }
        ),
    },
    openapi_extra=IDEMPOTENT,
)
async def move_rider(
    rider_id: RiderId,
    body: RiderMove,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanMoveRiders,
):
    """Move a rider to another zone: based at the warehouse serving it from now on (logged as
    `rider.moved`); moving them where they are changes nothing."""
    now = clock.now()

    async def act(session: AsyncSession):
        rider = await service.move_rider(
            session, rider_id, body.zone, actor=principal, now=now, reason=body.reason
        )
        return 200, rider_view(rider, FieldPolicy.of(principal))

    return await run_once(request, db, principal, now, act)


@router.get("/staffing", response_model=Staffing)
async def get_staffing(
    db: DbDep,
    clock: ClockDep,
    rule: StaffingRule,
    principal: CanReadStaffing,
    hours: Annotated[int, Query(ge=1, le=24, description="Clock hours from the current one.")] = 6,
) -> Staffing:
    """Per zone: riders on shift and online now; per hour, the orders forecast, the riders
    planned (rider-hours) and needed."""
    async with db.read() as session:
        return await staffing(
            session,
            clock.now(),
            hours=hours,
            orders_per_rider_hour=rule.orders_per_rider_hour,
            weeks=rule.history_weeks,
        )
