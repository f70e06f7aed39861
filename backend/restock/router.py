"""Routes: a warehouse's restock suggestions, and the merchant's decisions on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanDecideRestock, CanReadRestock
from backend.auth.scope import warehouse_in_scope
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import NotFound
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.restock import service
from backend_client.models import RestockDecide, RestockDecision, RestockPlan

router = APIRouter(tags=["restock"], responses=PROTECTED)
NOT_FOUND = errors({404: "No such warehouse, SKU or decision in your scope."})
STALE = errors({409: "Another decision was made since the plan was read, or already received."})

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


@router.get("/warehouses/{warehouse_id}/restock", response_model=RestockPlan, responses=NOT_FOUND)
async def get_restock(
    warehouse_id: Code,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadRestock,
    lead_hours: Annotated[
        float | None, Query(gt=0, le=24 * 28, description="Default: `restock_lead_hours`.")
    ] = None,
    review_hours: Annotated[
        float | None, Query(gt=0, le=24 * 28, description="Default: `restock_review_hours`.")
    ] = None,
    service_level: Annotated[
        float | None,
        Query(ge=0.5, le=0.999, description="Default: `restock_service_level`."),
    ] = None,
    weeks: Annotated[
        int | None, Query(ge=1, le=26, description="Default: `restock_history_weeks`.")
    ] = None,
) -> RestockPlan:
    """A suggested quantity per SKU from the demand by hour of day and weekday, sized by the
    lead time, review period and service level, with the figures it stands on."""
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    sizing = service.Sizing.of(
        settings,
        lead_hours=lead_hours,
        review_hours=review_hours,
        service_level=service_level,
        weeks=weeks,
    )
    return await service.plan(db, settings, warehouse_id, clock.now(), sizing)


@router.post(
    "/warehouses/{warehouse_id}/restock/{sku}/decision",
    response_model=RestockDecision,
    status_code=201,
    responses={**NOT_FOUND, **STALE, **TOO_LARGE},
    openapi_extra=IDEMPOTENT,
)
async def decide_restock(
    warehouse_id: Code,
    sku: Code,
    body: RestockDecide,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanDecideRestock,
) -> Response:
    """Accept the suggested quantity, or adjust it; the units are on order until received."""
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, BaseModel]:
        return 201, await service.decide(session, warehouse_id, sku, body, actor=principal, now=now)

    return await run_once(request, db, principal, now, act)


@router.post(
    "/warehouses/{warehouse_id}/restock/decisions/{decision_id}/receive",
    response_model=RestockDecision,
    responses={**NOT_FOUND, **STALE},
    openapi_extra=IDEMPOTENT,
)
async def receive_restock(
    warehouse_id: Code,
    decision_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanDecideRestock,
) -> Response:
    """The goods ordered by a decision arrived: they go on the shelf (`stock.adjusted`)."""
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, BaseModel]:
        return 200, await service.receive(
            session, warehouse_id, decision_id, actor=principal, now=now
        )

    return await run_once(request, db, principal, now, act)
