"""Routes: handover proposals, and the desk's decisions on them (accept, dismiss, undo)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.router import RuleBookDep
from backend.auth.deps import CanAssignOrders
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.takeover import service
from backend_client.models import Moment, TakeoverDecision, TakeoverProposal, TakeoverState

router = APIRouter(tags=["handover proposals"], responses=PROTECTED)

TakeoverId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Handover proposal id.")]
CHANGE = {
    **TOO_LARGE,
    **errors(
        {
            404: "No such handover proposal.",
            409: "Stale version, already decided, an order changed since, or a taker cannot "
            "take it now (offline, full, no cold-chain box).",
        }
    ),
}


@router.get("/takeovers", response_model=list[TakeoverProposal])
async def list_takeovers(
    db: DbDep,
    principal: CanAssignOrders,
    state: Annotated[
        list[TakeoverState] | None, Query(description="Only these states (repeat the key).")
    ] = None,
    since: Annotated[Moment | None, Query(description="Proposed at or after this.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TakeoverProposal]:
    """Handover proposals, newest first: standing ones wait for a decision until `due_at`."""
    async with db.read() as session:
        rows = await service.listing(session, states=state, since=since, limit=limit)
        return await service.views(session, rows)


@router.get(
    "/takeovers/{takeover_id}",
    response_model=TakeoverProposal,
    responses=errors({404: "No such handover proposal."}),
)
async def get_takeover(
    takeover_id: TakeoverId, db: DbDep, principal: CanAssignOrders
) -> TakeoverProposal:
    async with db.read() as session:
        (view,) = await service.views(session, [await service.load(session, takeover_id)])
        return view


@router.post(
    "/takeovers/{takeover_id}/accept",
    response_model=TakeoverProposal,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def accept_takeover(
    takeover_id: TakeoverId,
    body: TakeoverDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    book: RuleBookDep,
    principal: CanAssignOrders,
):
    """Carry the proposal out now, as proposed or with `changes` (another rider for some
    orders); the orders move in one transaction, all or none."""
    now = clock.now()
    zone = settings.zone if settings.notifications else None

    async def act(session: AsyncSession):
        row = await service.carry_out(
            session,
            takeover_id,
            book.rules,
            actor=principal,
            now=now,
            version=body.version,
            changes=body.changes,
            notify_zone=zone,
        )
        assert row is not None  # a person's decision answers or raises
        (view,) = await service.views(session, [row])
        return 200, view

    return await run_once(request, db, principal, now, act)


@router.post(
    "/takeovers/{takeover_id}/dismiss",
    response_model=TakeoverProposal,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def dismiss_takeover(
    takeover_id: TakeoverId,
    body: TakeoverDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanAssignOrders,
):
    """The orders stay with their rider: the proposal is not carried out."""
    now = clock.now()

    async def act(session: AsyncSession):
        row = await service.dismiss(
            session, takeover_id, actor=principal, now=now, version=body.version,
            reason=body.reason,
        )  # fmt: skip
        (view,) = await service.views(session, [row])
        return 200, view

    return await run_once(request, db, principal, now, act)


@router.post(
    "/takeovers/{takeover_id}/undo",
    response_model=TakeoverProposal,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def undo_takeover(
    takeover_id: TakeoverId,
    body: TakeoverDecision,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanAssignOrders,
):
    """Give every order the handover moved back to its rider, as it was (an order stopped by
    the accident is stopped again): all or none, refused if an order changed since."""
    now = clock.now()

    async def act(session: AsyncSession):
        row = await service.undo(
            session, takeover_id, actor=principal, now=now, version=body.version,
            reason=body.reason,
        )  # fmt: skip
        (view,) = await service.views(session, [row])
        return 200, view

    return await run_once(request, db, principal, now, act)
