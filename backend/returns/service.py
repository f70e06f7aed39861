"""Return and claim requests: opened on the road or by the customer's channel, decided at the
desk. Approving drives the order on: a return EXCEPTION -> RETURNING (RETURNED follows when the
goods are back on the shelf: `complete_return`), a claim EXCEPTION -> CLAIMING (CLAIM_SETTLED
follows when the compensation is paid out: `settle_claim`; the goods are written off). Rejecting
leaves the order in EXCEPTION for the desk to resume or settle otherwise; resuming an order
withdraws a request still waiting (`records.withdraw_pending`).

After sale (the order SIGNED, up to `after_sale_hours` since), the customer's channel or the
desk may still open a return, a claim or an exchange (the goods come back, the channel places
the replacement); the order stays SIGNED while it waits, and approving moves it on from there."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, allowed, claim_limit_cents
from backend.auth.principal import Principal, system_principal
from backend.auth.redaction import sees_staff_details
from backend.errors import Conflict, Forbidden, NotFound, StaleVersion, Unprocessable
from backend.orders import service as orders
from backend.orders.lifecycle import rule_from
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.orders.scope import order_scope
from backend.returns.models import ReturnRequestRow
from backend.returns.records import announce
from backend_client.models import (
    ClaimCreate,
    ClaimItem,
    ExchangeCreate,
    OrderAction,
    OrderState,
    RequestDecision,
    RequestKind,
    RequestState,
    ReturnCreate,
    Role,
)

S = OrderState
A = OrderAction
OPENS_FROM = (S.DELIVERING, S.EXCEPTION)


# --- Opening ------------------------------------------------------------------------------------


async def open_request(
    session: AsyncSession,
    order_id: int,
    body: ReturnCreate | ClaimCreate | ExchangeCreate,
    *,
    actor: Principal,
    now: datetime,
    after_sale_window: timedelta = timedelta(0),
) -> ReturnRequestRow:
    """A return (refused goods) or a claim (damaged goods) for an order out for delivery or
    already in exception (an order out for delivery goes to EXCEPTION with it); or, within
    `after_sale_window` of its signing, a return, claim or exchange of a signed order."""
    kind = _kind_of(body)
    order = await orders.load_order(session, order_id, actor, for_update=True)
    await orders.check_version(session, order, body.version, actor)
    state = OrderState(order.status)
    after_sale = state == S.SIGNED
    if after_sale:
        _check_after_sale(order, kind, actor=actor, now=now, window=after_sale_window)
    elif kind == RequestKind.EXCHANGE:
        raise Conflict(
            f"an exchange is opened after delivery (SIGNED); order {order.id} is {state} "
            "(goods refused at the door are a return)",
            from_state=str(state),
        )
    elif state not in OPENS_FROM:
        raise Conflict(
            f"a {kind} is opened for an order out for delivery or in exception, or after sale "
            f"once signed; order {order.id} is {state}",
            from_state=str(state),
        )
    waiting = await session.scalar(
        select(ReturnRequestRow).where(
            ReturnRequestRow.order_id == order.id,
            ReturnRequestRow.state == RequestState.PENDING,
            ReturnRequestRow.kind != RequestKind.COMPLAINT,  # complaints never block
        )
    )
    if waiting is not None:
        raise Conflict(
            f"order {order.id} already has a {waiting.kind} waiting for a decision "
            f"(request {waiting.id})",
            request_id=waiting.id,
        )
    items: list[dict[str, int | str]] = []
    amount = 0
    if isinstance(body, ClaimCreate):
        items, amount = _claimed(order, body)
    elif isinstance(body, ExchangeCreate):
        items = _lines(order, body.items, [])
    if state == S.DELIVERING:
        why = f"{kind} requested: {body.reason}"
        await orders.carry_out(
            session, order, rule_from(state, A.REPORT_EXCEPTION), actor=actor, now=now, reason=why
        )
    row = ReturnRequestRow(
        kind=kind,
        state=RequestState.PENDING,
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        reason=body.reason,
        items=items,
        amount_cents=amount,
        opened_by=actor.username,
        opened_role=str(actor.role),
        opened_at=now,
        version=1,
        after_sale=after_sale,
    )
    session.add(row)
    await announce(session, row, order, "opened", actor=actor, now=now, reason=body.reason)
    return row


def _kind_of(body: ReturnCreate | ClaimCreate | ExchangeCreate) -> RequestKind:
    if isinstance(body, ClaimCreate):
        return RequestKind.CLAIM
    if isinstance(body, ExchangeCreate):
        return RequestKind.EXCHANGE
    return RequestKind.RETURN


def _check_after_sale(
    order: OrderRecord, kind: RequestKind, *, actor: Principal, now: datetime, window: timedelta
) -> None:
    """After sale: the customer's channel or the desk, within `window` of the signing."""
    if not allowed(str(actor.role), Permission.RETURNS_AFTER_SALE):
        raise Forbidden(
            f"after sale, a {kind} is opened by the customer's channel or the desk, "
            f"not a {actor.role}"
        )
    assert order.signed_at is not None  # SIGNED records when
    closes = order.signed_at + window
    if window <= timedelta(0) or now > closes:
        raise Conflict(
            f"order {order.id} was signed at {order.signed_at.isoformat()}; a {kind} may be "
            f"opened up to {window.total_seconds() / 3600:g} h after that, until "
            f"{closes.isoformat()}: too late",
            from_state=str(S.SIGNED),
            closed_at=closes.isoformat(),
        )


def _claimed(order: OrderRecord, body: ClaimCreate) -> tuple[list[dict[str, int | str]], int]:
    """The claim's lines, checked against the order (`_lines`), and no more money than the
    order cost."""
    problems: list[str] = []
    if body.amount_cents > order.amount_cents:
        problems.append(
            f"amount_cents: {body.amount_cents} is more than the order's {order.amount_cents}"
        )
    return _lines(order, body.items, problems), body.amount_cents


def _lines(
    order: OrderRecord, lines: list[ClaimItem], problems: list[str]
) -> list[dict[str, int | str]]:
    """The request's lines, checked against the order: only what was ordered, no more of it
    than was ordered; 422 naming every problem (with those the caller found)."""
    ordered: dict[str, int] = {}
    for item in order.items:
        ordered[item.sku] = ordered.get(item.sku, 0) + item.quantity
    claimed: dict[str, int] = {}
    for line in lines:
        claimed[line.sku] = claimed.get(line.sku, 0) + line.quantity
    problems = [
        f"items: {sku} is not in order {order.id}"
        if sku not in ordered
        else f"items: {quantity} of {sku} claimed, {ordered[sku]} ordered"
        for sku, quantity in claimed.items()
        if quantity > ordered.get(sku, 0)
    ] + problems
    if problems:
        raise Unprocessable("; ".join(problems))
    return [{"sku": sku, "quantity": q} for sku, q in claimed.items()]


# --- Reading ------------------------------------------------------------------------------------


def _scope(principal: Principal):
    """Merchants see their warehouse's requests; an account seeing some order states only,
    the requests about orders in those states."""
    clause: ColumnElement[bool] = ReturnRequestRow.id.is_not(None)
    if principal.role == Role.MERCHANT:
        clause = ReturnRequestRow.warehouse_id == principal.warehouse_id
    if principal.stages is not None:
        visible = select(OrderRow.id).where(order_scope(principal))
        clause = and_(clause, ReturnRequestRow.order_id.in_(visible))
    return clause


async def list_requests(
    session: AsyncSession,
    principal: Principal,
    *,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    order_id: int | None = None,
    limit: int = 200,
) -> list[ReturnRequestRow]:
    query = select(ReturnRequestRow).where(_scope(principal))
    if state is not None:
        query = query.where(ReturnRequestRow.state == state)
    if kind is not None:
        query = query.where(ReturnRequestRow.kind == kind)
    if order_id is not None:
        query = query.where(ReturnRequestRow.order_id == order_id)
    query = query.order_by(ReturnRequestRow.opened_at, ReturnRequestRow.id).limit(limit)
    return list((await session.scalars(query)).all())


async def load_request(
    session: AsyncSession, request_id: int, principal: Principal, *, for_update: bool = False
) -> ReturnRequestRow:
    query = select(ReturnRequestRow).where(ReturnRequestRow.id == request_id, _scope(principal))
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"no request {request_id}")
    return row


# --- Deciding -----------------------------------------------------------------------------------


async def decide_request(
    session: AsyncSession,
    request_id: int,
    body: RequestDecision,
    *,
    approve: bool,
    actor: Principal,
    now: datetime,
) -> ReturnRequestRow:
    row = await load_request(session, request_id, actor, for_update=True)
    if row.kind == RequestKind.COMPLAINT:
        raise Conflict(
            f"request {row.id} is a complaint: resolve it (POST /requests/{row.id}/resolve) "
            "with an apology, a voucher or a refund"
        )
    check_version(row, body.version, actor)
    if row.state != RequestState.PENDING:
        raise Conflict(f"request {row.id} was already {row.state} by {row.decided_by}")
    if not approve and not body.reason:
        raise Unprocessable("a rejection needs a reason")
    if approve and row.kind == RequestKind.CLAIM:
        limit = claim_limit_cents(actor.role)
        if limit is not None and row.amount_cents > limit:
            raise Forbidden(
                f"a {actor.role} approves claims up to {limit / 100:.2f}; this one is "
                f"{row.amount_cents / 100:.2f}, for a supervisor to decide"
            )
    order = await orders.load_order(session, row.order_id, system_principal(), for_update=True)
    if approve:
        _check_still_waiting(order, row)
        await _drive(session, order, row, actor=actor, now=now, note=body.reason)
    row.state = RequestState.APPROVED if approve else RequestState.REJECTED
    row.decided_by, row.decided_at, row.decision_reason = actor.username, now, body.reason
    row.version += 1
    what = "approved" if approve else "rejected"
    await announce(session, row, order, what, actor=actor, now=now, reason=body.reason)
    return row


def _check_still_waiting(order: OrderRecord, row: ReturnRequestRow) -> None:
    """409 unless the order is still where the request left it: in EXCEPTION, or (after sale)
    SIGNED."""
    waits_in = S.SIGNED if row.after_sale else S.EXCEPTION
    if order.status != waits_in:
        raise Conflict(
            f"order {order.id} is {order.status} now, no longer waiting in {waits_in}",
            from_state=order.status,
        )


def check_version(row: ReturnRequestRow, version: int, actor: Principal) -> None:
    """409 with the current version when the desk decided on a request it saw older."""
    if version != row.version:
        by = row.decided_by if sees_staff_details(actor) else "another desk"
        raise StaleVersion(
            f"request {row.id} is at version {row.version}, not {version}; "
            f"last changed by {by or row.opened_by}",
            current_version=row.version,
            changed_by=by or row.opened_by,
        )


async def reopen_request(
    session: AsyncSession,
    request_id: int,
    body: RequestDecision,
    *,
    actor: Principal,
    now: datetime,
    window: timedelta,
) -> ReturnRequestRow:
    """Take a rejection back, a short while after it (`window`): the request waits for a
    decision again. Only a rejection: it left the order where it was (in EXCEPTION), so the
    lifecycle allows it; an approval moved the order on and is final. By whoever rejected it,
    or a supervisor or an admin; while the order still waits in EXCEPTION with nothing else
    opened for it since."""
    row = await load_request(session, request_id, actor, for_update=True)
    check_version(row, body.version, actor)
    if row.state != RequestState.REJECTED:
        raise Conflict(
            f"request {row.id} is {row.state}: only a rejection can be taken back (an approval "
            "moved the order on and is final)"
        )
    if row.decided_by != actor.username and actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(
            f"{row.decided_by} rejected request {row.id}; only they or a supervisor take it back"
        )
    assert row.decided_at is not None  # a rejection records when
    if window <= timedelta(0) or now - row.decided_at > window:  # 0: never
        raise Conflict(
            f"request {row.id} was rejected more than {window.total_seconds():g} s ago: too late "
            "to take it back; open a new one",
        )
    order = await orders.load_order(session, row.order_id, system_principal(), for_update=True)
    _check_still_waiting(order, row)
    waiting = await session.scalar(
        select(ReturnRequestRow.id).where(
            ReturnRequestRow.order_id == order.id,
            ReturnRequestRow.state == RequestState.PENDING,
            ReturnRequestRow.kind != RequestKind.COMPLAINT,
        )
    )
    if waiting is not None:
        raise Conflict(f"order {order.id} has request {waiting} waiting since", request_id=waiting)
    rejected_by = row.decided_by
    row.state = RequestState.PENDING
    row.decided_by = row.decided_at = row.decision_reason = None
    row.version += 1
    why = body.reason or f"rejection by {rejected_by} taken back"
    await announce(session, row, order, "reopened", actor=actor, now=now, reason=why)
    return row


async def _drive(
    session: AsyncSession,
    order: OrderRecord,
    request: ReturnRequestRow,
    *,
    actor: Principal,
    now: datetime,
    note: str | None,
) -> None:
    why = f"{request.kind} {request.id} approved" + (f": {note}" if note else "")
    action = A.START_CLAIM if request.kind == RequestKind.CLAIM else A.START_RETURN
    rule = rule_from(OrderState(order.status), action)
    await orders.carry_out(session, order, rule, actor=actor, now=now, reason=why)
