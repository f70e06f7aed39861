"""Routes: opening returns, claims and (after sale) exchanges, reading them, approving or
rejecting them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from backend.auth.deps import (
    CanDecideReturns,
    CanOpenAfterSale,
    CanReadReturns,
    CanRequestReturns,
)
from backend.auth.principal import Principal
from backend.clock import Clock
from backend.db import Database
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.paths import OrderId
from backend.proof.service import proof_view, proofs_of
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.returns import service
from backend.returns.records import request_view
from backend.settings import Settings
from backend_client.models import (
    ClaimCreate,
    ExchangeCreate,
    RequestDecision,
    RequestKind,
    RequestState,
    ReturnCreate,
    ReturnRequest,
)

router = APIRouter(tags=["returns and claims"], responses=PROTECTED)

RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Request id.")]
OPENING = {
    **TOO_LARGE,
    **errors(
        {
            404: "No such order in your scope.",
            409: "Stale order version, the order is not out for delivery or in exception "
            "(nor signed within `after_sale_hours`), or a request is already waiting for it.",
        }
    ),
}
DECIDING = {
    **TOO_LARGE,
    **errors(
        {
            404: "No such request in your scope.",
            409: "Stale version, already decided, or the order moved on meanwhile.",
        }
    ),
}


async def _open(
    request: Request,
    db: Database,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    order_id: int,
    body: ReturnCreate | ClaimCreate | ExchangeCreate,
):
    now = clock.now()
    window = timedelta(hours=settings.after_sale_hours)

    async def act(session):
        row = await service.open_request(
            session, order_id, body, actor=principal, now=now, after_sale_window=window
        )
        return 201, request_view(row)

    return await run_once(request, db, principal, now, act)


@router.post(
    "/orders/{order_id}/returns",
    response_model=ReturnRequest,
    status_code=201,
    responses=OPENING,
    openapi_extra=IDEMPOTENT,
)
async def open_return(
    order_id: OrderId,
    body: ReturnCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanRequestReturns,
):
    """The customer refused the goods: a return waits for the desk (an order out for delivery
    goes to EXCEPTION with it). After sale (signed, within `after_sale_hours`): by the
    customer's channel or the desk; the order stays SIGNED while it waits."""
    return await _open(request, db, clock, settings, principal, order_id, body)


@router.post(
    "/orders/{order_id}/claims",
    response_model=ReturnRequest,
    status_code=201,
    responses=OPENING,
    openapi_extra=IDEMPOTENT,
)
async def open_claim(
    order_id: OrderId,
    body: ClaimCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanRequestReturns,
):
    """The goods arrived damaged: a claim for these items and this amount waits for the desk
    (after sale as for a return)."""
    return await _open(request, db, clock, settings, principal, order_id, body)


@router.post(
    "/orders/{order_id}/exchanges",
    response_model=ReturnRequest,
    status_code=201,
    responses=OPENING,
    openapi_extra=IDEMPOTENT,
)
async def open_exchange(
    order_id: OrderId,
    body: ExchangeCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanOpenAfterSale,
):
    """After sale (signed, within `after_sale_hours`): the customer wants these items replaced.
    Approved, the goods come back (RETURNING) and the channel places the replacement order."""
    return await _open(request, db, clock, settings, principal, order_id, body)


@router.get("/requests", response_model=list[ReturnRequest])
async def list_requests(
    db: DbDep,
    principal: CanReadReturns,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    order_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReturnRequest]:
    """Returns, claims and exchanges in your scope, oldest first."""
    async with db.read() as session:
        rows = await service.list_requests(
            session, principal, state=state, kind=kind, order_id=order_id, limit=limit
        )
        return [request_view(r) for r in rows]


@router.get(
    "/requests/{request_id}",
    response_model=ReturnRequest,
    responses=errors({404: "No such request in your scope."}),
)
async def get_request(
    request_id: RequestId,
    db: DbDep,
    principal: CanReadReturns,
) -> ReturnRequest:
    """One request, citing the order's proofs of delivery (`proofs`)."""
    async with db.read() as session:
        row = await service.load_request(session, request_id, principal)
        proofs = [proof_view(p) for p in await proofs_of(session, row.order_id)]
        return request_view(row).model_copy(update={"proofs": proofs})


async def _decide(
    request: Request,
    db: Database,
    clock: Clock,
    principal: Principal,
    request_id: int,
    body: RequestDecision,
    approve: bool,
):
    now = clock.now()

    async def act(session):
        row = await service.decide_request(
            session, request_id, body, approve=approve, actor=principal, now=now
        )
        return 200, request_view(row)

    return await run_once(request, db, principal, now, act)


@router.post(
    "/requests/{request_id}/approve",
    response_model=ReturnRequest,
    responses={**DECIDING, **errors({403: "Your role may not decide, or not a claim this big."})},
    openapi_extra=IDEMPOTENT,
)
async def approve_request(
    request_id: RequestId,
    body: RequestDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanDecideReturns,
):
    """Approve: a return sends the order back (RETURNING), a claim settles it (CLAIMING, then
    CLAIM_SETTLED, the goods written off). Claims above your role's limit are refused."""
    return await _decide(request, db, clock, principal, request_id, body, True)


@router.post(
    "/requests/{request_id}/reject",
    response_model=ReturnRequest,
    responses=DECIDING,
    openapi_extra=IDEMPOTENT,
)
async def reject_request(
    request_id: RequestId,
    body: RequestDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanDecideReturns,
):
    """Reject, with a reason: the order stays in EXCEPTION for the desk to resume or settle."""
    return await _decide(request, db, clock, principal, request_id, body, False)


@router.post(
    "/requests/{request_id}/reopen",
    response_model=ReturnRequest,
    responses={
        **TOO_LARGE,
        **errors(
            {
                403: "Your role may not decide, or someone else rejected it (not a supervisor).",
                404: "No such request in your scope.",
                409: "Stale version, not rejected (an approval is final), too late, or the "
                "order moved on or has another request waiting.",
            }
        ),
    },
    openapi_extra=IDEMPOTENT,
)
async def reopen_request(
    request_id: RequestId,
    body: RequestDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanDecideReturns,
):
    """Take a rejection back within `decision_undo_seconds` (120 s) of it: the request waits
    for a decision again (`request.reopened`). By whoever rejected it, or a supervisor. An
    approval moved the order on and cannot be taken back."""
    now = clock.now()
    window = timedelta(seconds=settings.decision_undo_seconds)

    async def act(session):
        row = await service.reopen_request(
            session, request_id, body, actor=principal, now=now, window=window
        )
        return 200, request_view(row)

    return await run_once(request, db, principal, now, act)
