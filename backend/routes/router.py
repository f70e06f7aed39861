"""Routes: a rider's planned route (the optimiser's sequence of their stops), and the
dispatcher's order and locks on it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanAssignOrders, CanReadRiders
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.dispatch.parcels import Limits
from backend.paths import RiderId
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.routes import service
from backend.routes.optimiser import promise_order
from backend.routes.solvers import plan_route
from backend.settings import Settings
from backend_client.models import RouteOrder, RoutePlan

router = APIRouter(tags=["routes"], responses=PROTECTED)

NOT_FOUND = errors({404: "No such rider in your scope."})


def limits_of(settings: Settings) -> Limits:
    """What one rider carries at once, and of it in the cold box."""
    return Limits(max_load_g=settings.rider_max_load_g, cold_box_g=settings.cold_box_max_g)


async def planned(facts: service.RouteFacts, settings: Settings, now: datetime) -> RoutePlan:
    """The optimiser's plan of the rider's route (off the event loop, within its time limit)."""
    problem = facts.problem(limits_of(settings), now)
    plan = await plan_route(problem, time_limit_ms=settings.route_time_limit_ms)
    return service.plan_view(facts, plan, promise_order(problem).metres, now=now)


@router.get("/riders/{rider_id}/plan", response_model=RoutePlan, responses=NOT_FOUND)
async def get_route_plan(
    rider_id: RiderId,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadRiders,
) -> RoutePlan:
    """The rider's stops (pick-ups at the warehouse, drops at customers) in the order the
    optimiser proposes now, honouring promises, the load and cold-box limits and the
    dispatcher's locks; the promise order when it cannot do better in time."""
    now = clock.now()
    async with db.read() as session:
        facts = await service.route_facts(session, rider_id, principal)
    return await planned(facts, settings, now)


@router.put(
    "/riders/{rider_id}/plan",
    response_model=RoutePlan,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **errors(
            {
                409: "A stale `version`, or `stops` is not exactly the rider's stops now.",
                422: "The order given breaks the rider's load or cold-box limit.",
            }
        ),
    },
)
async def set_route_order(
    rider_id: RiderId,
    body: RouteOrder,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanAssignOrders,
) -> RoutePlan:
    """Set the order of the rider's stops and lock some in place: the optimiser keeps a locked
    drop where it is and sequences the rest around it. Every stop of the rider, once each."""
    now = clock.now()

    async def act(session: AsyncSession) -> service.RouteFacts:
        return await service.set_route_order(
            session, rider_id, body, limits=limits_of(settings), actor=principal, now=now
        )

    facts = await db.write(act)
    return await planned(facts, settings, now)
