"""Routes: list, search, read, create, transition and assign orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanAssignOrders, CanCreateOrders, CanReadOrders, CanTransitionOrders
from backend.auth.fields import FieldPolicy
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.dispatch.ranking import Ranking
from backend.errors import DomainError, NotFound
from backend.idempotency import IDEMPOTENT, run_once
from backend.orders import service
from backend.orders.lifecycle import actions_for
from backend.orders.records import OrderRecord
from backend.orders.search import SearchCorpus
from backend.orders.views import event_views_for, order_answer, order_views
from backend.paths import OrderId
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.tiers.reads import archived_order_session
from backend.tracking import tokens as tracking_tokens
from backend.writer import part
from backend_client.models import (
    NO_CONTROL_CHARS,
    AssignRequest,
    Channel,
    Event,
    Moment,
    Order,
    OrderAction,
    OrderCreate,
    OrderPage,
    OrderState,
    TransitionBatch,
    TransitionOutcome,
    TransitionRequest,
    TransitionResults,
)

router = APIRouter(tags=["orders"], responses=PROTECTED)


def search_corpus(request: Request) -> SearchCorpus:
    """This instance's fuzzy search corpus, made by the first search (`orders/search.py`); not
    a dependency: the list route keeps to the dependencies it had (test_route_dependencies)."""
    state = request.app.state
    corpus: SearchCorpus | None = getattr(state, "order_search", None)
    if corpus is None:
        corpus = state.order_search = SearchCorpus()
    return corpus


NOT_FOUND = errors({404: "No such order in your scope."})
CHANGE = {
    **NOT_FOUND,
    **TOO_LARGE,
    **errors({409: "Illegal transition (names both states) or stale version (with the current)."}),
}


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    db: DbDep,
    clock: ClockDep,
    principal: CanReadOrders,
    request: Request,
    status: Annotated[list[OrderState] | None, Query(description="Any of these states.")] = None,
    channel: Channel | None = None,
    warehouse_id: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)] = None,
    zone: Annotated[str | None, Query(max_length=60, pattern=NO_CONTROL_CHARS)] = None,
    rider_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    late: Annotated[bool, Query(description="Only open orders past their promise.")] = False,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            pattern=NO_CONTROL_CHARS,
            description=(
                "Search: order id, channel order id, customer name (substring, or alike: "
                "typos too), phone suffix (at most 4 digits for accounts that see phones "
                "masked), address, rider; best matches first, one page (no cursor)."
            ),
        ),
    ] = None,
    updated_since: Annotated[
        Moment | None,
        Query(description="Only orders changed at or after this time (e.g. signed lately)."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OrderPage:
    """Orders in your scope, most urgent first: open orders by promised time, then final ones;
    with `q`, the best matches first (docs/api.md, "Search")."""
    filters = service.OrderFilters(
        statuses=tuple(status or ()),
        channel=channel,
        warehouse_id=warehouse_id,
        zone=zone,
        rider_id=rider_id,
        late_only=late,
        query=q,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    now = clock.now()
    fields = FieldPolicy.of(principal)
    async with db.read() as session:
        rows, next_cursor = await service.list_orders(
            session, principal, filters, now=now, corpus=search_corpus(request)
        )
        return OrderPage(
            items=await order_views(session, rows, now, fields), next_cursor=next_cursor
        )


@router.post(
    "/orders",
    openapi_extra=IDEMPOTENT,
    response_model=Order,
    status_code=201,
    responses={**TOO_LARGE, **errors({409: "This channel order id was already taken (order_id)."})},
)
async def create_order(
    body: OrderCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanCreateOrders,
):
    """Take a new order from a sales channel (state CREATED)."""
    now = clock.now()
    promise = timedelta(minutes=settings.default_promise_minutes)

    async def act(session):
        order = await service.create_order(
            session, body, actor=principal, now=now, default_promise=promise
        )
        view = await order_answer(session, order, now, FieldPolicy.of(principal))
        return 201, await tracking_tokens.show_link(
            session, view, principal, settings=settings, now=now
        )

    return await run_once(request, db, principal, now, act)


@router.get("/orders/{order_id}", response_model=Order, responses=NOT_FOUND)
async def get_order(
    order_id: OrderId,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadOrders,
) -> Order:
    """One order with its items, stage times and lateness (archived ones too), and its
    customer's tracking link for accounts with `tracking:read`."""
    now = clock.now()
    try:
        async with db.read() as session:
            order = await service.load_order(session, order_id, principal)
            view = await order_answer(session, order, now, FieldPolicy.of(principal))
            return await tracking_tokens.show_link(
                session, view, principal, settings=settings, now=now
            )
    except NotFound:
        async with archived_order_session(db, settings, order_id) as archived:
            if archived is None:
                raise
            order = await service.load_order(archived, order_id, principal)
            # An archived order is final: its link has died with it.
            return await order_answer(archived, order, now, FieldPolicy.of(principal))


@router.get("/orders/{order_id}/timeline", response_model=list[Event], responses=NOT_FOUND)
async def get_timeline(
    order_id: OrderId,
    db: DbDep,
    settings: SettingsDep,
    principal: CanReadOrders,
) -> list[Event]:
    """The order's whole story: every event, oldest first (from the archive once the order
    has moved there, docs/data-tiers.md)."""
    try:
        async with db.read() as session:
            rows = await service.order_timeline(session, order_id, principal)
    except NotFound:
        async with archived_order_session(db, settings, order_id) as archived:
            if archived is None:
                raise
            rows = await service.order_timeline(archived, order_id, principal)
    return event_views_for(rows, principal)


@router.get("/orders/{order_id}/actions", response_model=list[OrderAction], responses=NOT_FOUND)
async def get_actions(
    order_id: OrderId,
    db: DbDep,
    principal: CanReadOrders,
) -> list[OrderAction]:
    """The lifecycle actions your role may take on this order now."""
    async with db.read() as session:
        order = await service.load_order(session, order_id, principal)
    return actions_for(OrderState(order.status), str(principal.role))


@router.post(
    "/orders/{order_id}/transitions",
    response_model=Order,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def transition_order(
    order_id: OrderId,
    body: TransitionRequest,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanTransitionOrders,
):
    """Apply a lifecycle action. Send the version you saw; a stale one answers 409."""
    now = clock.now()

    async def act(session):
        order = await service.transition(
            session,
            order_id,
            body,
            actor=principal,
            now=now,
            auto_dispatch=settings.auto_dispatch,
            proof_policy=settings.proof,
            ranking=Ranking(settings.dispatch_ranking),
        )
        return 200, await order_answer(session, order, now, FieldPolicy.of(principal))

    return await run_once(request, db, principal, now, act)


@router.post(
    "/orders/transitions",
    response_model=TransitionResults,
    responses={**TOO_LARGE},
    openapi_extra=IDEMPOTENT,
)
async def transition_orders(
    body: TransitionBatch,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanTransitionOrders,
):
    """Many transitions in one request (up to 500), for machines: each on its own. Each is
    applied, or refused with the status and reason the single call would answer (404 outside
    your scope, 409 stale or illegal, 422 a reason missing) and nothing of it changes; a refusal
    never undoes its neighbours. The applied ones commit together, in the order sent (send an
    order twice with the version it will have by then). 200 whatever each outcome; 422 for a
    malformed batch, and then nothing is applied."""
    now = clock.now()
    auto_dispatch = settings.auto_dispatch
    proof_policy = settings.proof
    ranking = Ranking(settings.dispatch_ranking)
    fields = FieldPolicy.of(principal)

    async def act(session: AsyncSession) -> tuple[int, TransitionResults]:
        results: list[TransitionOutcome] = []
        moved: list[tuple[int, OrderRecord]] = []  # (place in results, order): views at the end
        for item in body.transitions:
            asked = TransitionRequest(action=item.action, version=item.version, reason=item.reason)
            try:
                async with part(session):
                    order = await service.transition(
                        session,
                        item.order_id,
                        asked,
                        actor=principal,
                        now=now,
                        auto_dispatch=auto_dispatch,
                        proof_policy=proof_policy,
                        ranking=ranking,
                    )
            except DomainError as refused:
                current = refused.context.get("current_version")
                results.append(
                    TransitionOutcome(
                        order_id=item.order_id,
                        status=refused.status_code,
                        detail=refused.detail,
                        current_version=current if isinstance(current, int) else None,
                    )
                )
            else:
                moved.append((len(results), order))
                results.append(TransitionOutcome(order_id=item.order_id, status=200))
        # Every order's rider and ETA in one query, not one per order.
        views = await order_views(session, [order for _, order in moved], now, fields)
        for (place, _), view in zip(moved, views, strict=True):
            results[place] = results[place].model_copy(update={"order": view})
        applied = sum(1 for r in results if r.status == 200)
        return 200, TransitionResults(
            results=results, applied=applied, refused=len(results) - applied
        )

    return await run_once(request, db, principal, now, act)


@router.post(
    "/orders/{order_id}/assign",
    response_model=Order,
    responses={
        **CHANGE,
        **errors({409: "Stale version, or the rider is offline, full or has no cold-chain box."}),
    },
    openapi_extra=IDEMPOTENT,
)
async def assign_order(
    order_id: OrderId,
    body: AssignRequest,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanAssignOrders,
):
    """Give the order to a rider (online, with room, cold-chain capable if needed)."""
    now = clock.now()

    async def act(session):
        order = await service.assign_rider(session, order_id, body, actor=principal, now=now)
        return 200, await order_answer(session, order, now, FieldPolicy.of(principal))

    return await run_once(request, db, principal, now, act)
