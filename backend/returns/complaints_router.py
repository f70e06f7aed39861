"""Routes: opening a complaint about an order, and resolving it (read with the other requests,
`GET /requests?kind=complaint`)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from backend.auth.deps import CanOpenComplaints, CanResolveComplaints
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.paths import OrderId
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.returns import complaints
from backend.returns.records import request_view
from backend.returns.router import RequestId
from backend_client.models import ComplaintCreate, ComplaintResolution, ReturnRequest

router = APIRouter(tags=["complaints"], responses=PROTECTED)


@router.post(
    "/orders/{order_id}/complaints",
    response_model=ReturnRequest,
    status_code=201,
    responses={
        **TOO_LARGE,
        **errors(
            {
                404: "No such order in your scope.",
                409: "The order is not out for delivery, in exception or signed within "
                "`after_sale_hours`, or a complaint of this category waits for it already.",
            }
        ),
    },
    openapi_extra=IDEMPOTENT,
)
async def open_complaint(
    order_id: OrderId,
    body: ComplaintCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanOpenComplaints,
):
    """The customer complains (late, quality, the rider, a wrong item...): a complaint waits
    for support. The order's state does not change."""
    now = clock.now()
    window = timedelta(hours=settings.after_sale_hours)

    async def act(session):
        row = await complaints.open_complaint(
            session, order_id, body, actor=principal, now=now, after_sale_window=window
        )
        return 201, request_view(row)

    return await run_once(request, db, principal, now, act)


@router.post(
    "/requests/{request_id}/resolve",
    response_model=ReturnRequest,
    responses={
        **TOO_LARGE,
        **errors(
            {
                403: "A voucher or refund above your role's claim limit.",
                404: "No such request in your scope.",
                409: "Stale version, resolved already, or not a complaint.",
            }
        ),
    },
    openapi_extra=IDEMPOTENT,
)
async def resolve_complaint(
    request_id: RequestId,
    body: ComplaintResolution,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanResolveComplaints,
):
    """Resolve a complaint with an apology, a voucher or a refund (with `amount_cents`); the
    order stays where it is."""
    now = clock.now()

    async def act(session):
        row = await complaints.resolve_complaint(
            session, request_id, body, actor=principal, now=now
        )
        return 200, request_view(row)

    return await run_once(request, db, principal, now, act)
