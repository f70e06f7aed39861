"""Orders: intake, reading with scope, lifecycle transitions and rider assignment.

Every change happens inside the caller's write transaction and appends its event there too.
Changes read and write orders as `records.OrderRecord`, in written-out SQL (`backend/sql.py`);
the list and the timeline are queries through SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.service import resolve_incident
from backend.auth.fields import phone_tail
from backend.auth.principal import Principal, system_principal
from backend.auth.redaction import sees_staff_details
from backend.crypto.cipher import active
from backend.db import Database, lock_key
from backend.dispatch import deliveries
from backend.dispatch.deliveries import DeliveryPlan, DeliveryRecord
from backend.dispatch.ranking import AUTO_DISPATCH_REACH_M, SHORTLIST, Ranking, rank_riders
from backend.errors import Conflict, Forbidden, StaleVersion, Unprocessable
from backend.inventory import service as stock
from backend.orders import records
from backend.orders.cursor import decode_cursor, encode_cursor
from backend.orders.lifecycle import (
    ASSIGNABLE_STATES,
    FINAL_STATES,
    RIDER_FREE_STATES,
    RULES_BY_ACTION,
    STAGE_COLUMN,
    Effect,
    Guard,
    Rule,
    decide,
)
from backend.orders.models import OrderRow
from backend.orders.records import ItemRecord, OrderRecord
from backend.orders.scope import order_scope
from backend.orders.search import (
    MAX_CANDIDATES,
    SearchCorpus,
    exact_clause,
    exact_score,
    narrowing_of,
)
from backend.proof import pins
from backend.proof.service import proofs_for_sign
from backend.realtime.models import EventRow
from backend.realtime.outbox import append_event
from backend.returns.records import withdraw_pending
from backend.riders import progress
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend.settings import ProofPolicy
from backend.sql import Query, Sql, sql_of
from backend.tracking import tokens as tracking_tokens
from backend_client.geo import flat_metres
from backend_client.models import (
    AssignRequest,
    Channel,
    OrderAction,
    OrderCreate,
    OrderState,
    Role,
    TransitionRequest,
)

MAX_PROMISE_AHEAD = timedelta(days=7)
ORDER_INTAKE_LOCK = 0x46524C04


@dataclass(frozen=True, slots=True)
class OrderFilters:
    """What the order list can be narrowed by."""

    statuses: tuple[OrderState, ...] = ()
    channel: Channel | None = None
    warehouse_id: str | None = None
    zone: str | None = None
    rider_id: int | None = None
    late_only: bool = False
    query: str | None = None
    updated_since: datetime | None = None
    cursor: str | None = None
    limit: int = 100


# --- Reading ------------------------------------------------------------------------------------


async def load_order(
    session: AsyncSession, order_id: int, principal: Principal, *, for_update: bool = False
) -> OrderRecord:
    """The order if the caller may see it, else NotFound (scope never leaks existence)."""
    return await records.load_in_scope(sql_of(session), order_id, principal, lock=for_update)


async def list_orders(
    session: AsyncSession,
    principal: Principal,
    filters: OrderFilters,
    *,
    now: datetime,
    corpus: SearchCorpus | None = None,
) -> tuple[list[OrderRow], str | None]:
    """Orders in scope, most urgent first (open before final, then by promised time); with a
    search `query`, the best matches first instead, on one page (`search_orders`)."""
    if filters.query:
        if filters.cursor:
            raise Unprocessable(
                "a search answers one page, best matches first: narrow it instead of paging"
            )
        return await search_orders(session, principal, filters, now=now, corpus=corpus), None
    query = select(OrderRow).where(order_scope(principal), *_narrowing(filters, now))
    if filters.cursor:
        rank, promised_at, last_id = decode_cursor(filters.cursor)
        query = query.where(
            or_(
                OrderRow.open_rank > rank,
                and_(OrderRow.open_rank == rank, OrderRow.promised_at > promised_at),
                and_(
                    OrderRow.open_rank == rank,
                    OrderRow.promised_at == promised_at,
                    OrderRow.id > last_id,
                ),
            )
        )
    query = query.order_by(*URGENCY)
    rows = list((await session.scalars(query.limit(filters.limit + 1))).all())
    next_cursor = None
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.open_rank, last.promised_at, last.id)
    return rows, next_cursor


URGENCY = (OrderRow.open_rank, OrderRow.promised_at, OrderRow.id)


def _narrowing(filters: OrderFilters, now: datetime) -> list[ColumnElement[bool]]:
    """The list's filters as WHERE clauses (the search query aside)."""
    clauses: list[ColumnElement[bool]] = []
    if filters.statuses:
        clauses.append(OrderRow.status.in_(filters.statuses))
    if filters.channel is not None:
        clauses.append(OrderRow.channel == filters.channel)
    if filters.warehouse_id is not None:
        clauses.append(OrderRow.warehouse_id == filters.warehouse_id)
    if filters.zone is not None:
        clauses.append(OrderRow.zone == filters.zone)
    if filters.rider_id is not None:
        clauses.append(OrderRow.rider_id == filters.rider_id)
    if filters.late_only:
        clauses.extend((OrderRow.open_rank == 0, OrderRow.promised_at < now))
    if filters.updated_since is not None:
        clauses.append(OrderRow.updated_at >= filters.updated_since)
    return clauses


async def search_orders(
    session: AsyncSession,
    principal: Principal,
    filters: OrderFilters,
    *,
    now: datetime,
    corpus: SearchCorpus | None,
) -> list[OrderRow]:
    """The orders in scope matching `filters.query`, best first (ties: most urgent first):
    exact keys over every order, and, given a corpus, fuzzy similarity over the live ones."""
    assert filters.query
    text = filters.query.strip()
    narrowing = _narrowing(filters, now)
    scores: dict[int, float] = {}
    if text:
        exact = await session.execute(
            select(OrderRow.id, OrderRow.external_id, OrderRow.customer_name)
            .where(order_scope(principal), exact_clause(principal, text), *narrowing)
            # `+ 0`: no index serves `LIKE '%...%'`, so read the table once and sort what
            # matched, rather than walk the urgency index and look up every row it names
            # (SQLite chooses the walk for the ORDER BY: 51 ms against 13 at 40,000 orders).
            .order_by(OrderRow.open_rank + 0, OrderRow.promised_at, OrderRow.id)
            .limit(MAX_CANDIDATES)
        )
        scores = {row[0]: exact_score(text, *row) for row in exact}
    if corpus is not None:
        await corpus.refresh(session, now)
        ranked = corpus.rank(
            text,
            principal,
            narrowing_of(
                filters.statuses,
                filters.channel,
                filters.warehouse_id,
                filters.zone,
                filters.rider_id,
            ),
        )
        for order_id, score in ranked.items():
            scores[order_id] = max(score, scores.get(order_id, 0.0))
    if not scores:
        return []
    # Rank on the sort keys alone; read whole orders (with their lines) for the page only.
    keys = await session.execute(
        select(OrderRow.id, OrderRow.open_rank, OrderRow.promised_at).where(
            OrderRow.id.in_(scores), order_scope(principal), *narrowing
        )
    )
    ordered = sorted(keys.all(), key=lambda k: (-scores[k[0]], k[1], k[2], k[0]))
    page = [k[0] for k in ordered[: filters.limit]]
    if not page:
        return []
    rows = {r.id: r for r in (await session.scalars(select(OrderRow).where(OrderRow.id.in_(page))))}
    return [rows[order_id] for order_id in page if order_id in rows]


async def live_order_states(db: Database, *, now: datetime) -> dict[int, str]:
    """Each open order's state, and each final one's changed within a day: what the stream's
    stage scopes start from (`realtime/hub.py` `order_states`)."""
    async with db.read() as session:
        rows = await session.execute(
            select(OrderRow.id, OrderRow.status).where(
                or_(OrderRow.open_rank == 0, OrderRow.updated_at >= now - timedelta(days=1))
            )
        )
        return {order_id: status for order_id, status in rows}


async def order_timeline(
    session: AsyncSession, order_id: int, principal: Principal
) -> list[EventRow]:
    """Every event of an order, oldest first."""
    await load_order(session, order_id, principal)
    rows = await session.scalars(
        # Numbered ones: on PostgreSQL an event committed a moment ago on another instance is
        # on the stream (and here) once the sequencer has numbered it.
        select(EventRow)
        .where(EventRow.order_id == order_id, EventRow.seq.is_not(None))
        .order_by(EventRow.id)
    )
    return list(rows.all())


# --- Intake -------------------------------------------------------------------------------------


WAREHOUSES = Query("SELECT id, zone, lat, lng, auto_dispatch FROM warehouses ORDER BY id")
WAREHOUSE = Query("SELECT id, zone, lat, lng, auto_dispatch FROM warehouses WHERE id = :id")
EXISTING = Query("SELECT id FROM orders WHERE channel = :channel AND external_id = :external_id")
UPSERT_CUSTOMER = Query(
    "INSERT INTO customers (name, phone, phone_index, address, lat, lng) "
    "VALUES (:name, :phone, :phone_index, :address, :lat, :lng) "
    "ON CONFLICT (phone_index) DO UPDATE SET "
    "name = excluded.name, address = excluded.address, lat = excluded.lat, lng = excluded.lng "
    "RETURNING id"
)
"""The customer of this phone (found by its blind index: the phone itself is encrypted, with a
nonce of its own each time), created or brought up to date."""


@dataclass(frozen=True, slots=True)
class Pickup:
    """A warehouse as the write path needs it: where it is and whether it dispatches itself."""

    id: str
    zone: str
    lat: float
    lng: float
    auto_dispatch: bool


async def create_order(
    session: AsyncSession,
    request: OrderCreate,
    *,
    actor: Principal,
    now: datetime,
    default_promise: timedelta,
    plan: DeliveryPlan | None = None,
) -> OrderRecord:
    """A new order in CREATED, priced from the catalogue, served by a warehouse, placed in
    deliveries by `plan` (merged or split; `dispatch.parcels.TooHeavy` if no rider can carry a
    unit of it), or without one in a delivery of its own, as sent."""
    sql = sql_of(session)
    channel = _channel_for(request, actor)
    # Two deliveries of the same channel order must not race past the check below.
    await lock_key(session, ORDER_INTAKE_LOCK, f"{channel}:{request.external_id}")
    existing = await sql.one(EXISTING, {"channel": channel, "external_id": request.external_id})
    if existing is not None:
        raise Conflict(
            f"{channel} order {request.external_id} already exists as order {existing[0]}",
            order_id=existing[0],
        )
    promised_at = request.promised_at or now + default_promise
    if promised_at <= now:
        raise Unprocessable("promised_at must be in the future")
    if promised_at > now + MAX_PROMISE_AHEAD:
        raise Unprocessable("promised_at must be within 7 days")

    wanted = sorted({item.sku for item in request.items})
    catalogue = await stock.catalogue(session, wanted)
    unknown = [sku for sku in wanted if sku not in catalogue]
    if unknown:
        raise Unprocessable(f"unknown SKU: {', '.join(unknown)}")
    warehouse = await _serving_warehouse(sql, request)
    c = request.customer
    cipher = active()
    customer = await sql.one(
        UPSERT_CUSTOMER,
        {
            "name": cipher.encrypt(c.name, "customers.name"),
            "phone": cipher.encrypt(c.phone, "customers.phone"),
            "phone_index": cipher.blind("phone", c.phone),
            "address": cipher.encrypt(c.address, "customers.address"),
            "lat": c.lat,
            "lng": c.lng,
        },
    )
    assert customer is not None
    items = [
        ItemRecord(
            line=line,
            sku=item.sku,
            name=catalogue[item.sku].name,
            quantity=item.quantity,
            unit=catalogue[item.sku].unit,
            weight_g=catalogue[item.sku].weight_g * item.quantity,
            cold_chain=catalogue[item.sku].cold_chain,
            unit_price_cents=catalogue[item.sku].price_cents,
        )
        for line, item in enumerate(request.items, start=1)
    ]
    values: dict[str, Any] = dict.fromkeys(records.COLUMNS[1:])
    values.update(
        channel=channel,
        external_id=request.external_id,
        customer_id=customer[0],
        customer_name=c.name,
        customer_phone=c.phone,
        address=c.address,
        lat=c.lat,
        lng=c.lng,
        zone=warehouse.zone,
        warehouse_id=warehouse.id,
        status=OrderState.CREATED,
        open_rank=0,
        version=1,
        stock_state="none",
        amount_cents=sum(i.unit_price_cents * i.quantity for i in items),
        weight_g=sum(i.weight_g for i in items),
        cold_chain=any(i.cold_chain for i in items),
        note=request.note,
        promised_at=promised_at,
        created_at=now,
        updated_at=now,
    )
    order = await records.insert(sql, values, items)
    await pins.mint_pin(session, order.id)
    await append_event(
        session,
        kind="order.created",
        actor=actor,
        at=now,
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        to_state=OrderState.CREATED,
        payload={
            "version": order.version,
            "channel": channel,
            "zone": order.zone,
            "external_id": order.external_id,
            # What a console needs to show the new order without asking for it (the board's
            # line and urgency): later events carry only what changed.
            "customer": order.customer_name,
            "phone_tail": phone_tail(order.customer_phone),
            "promised_at": order.promised_at.isoformat(),
            "cold_chain": order.cold_chain,
            "lat": order.lat,
            "lng": order.lng,
        },
    )
    await deliveries.place(session, order, plan, actor=actor, now=now)
    # The customer's tracking link, in the same transaction: no order is ever without one.
    await tracking_tokens.mint(session, order.id, now=now)
    return order


def _channel_for(request: OrderCreate, actor: Principal) -> str:
    if actor.role == Role.CHANNEL:
        if request.channel is not None and request.channel != actor.channel:
            raise Forbidden(f"this account sells for {actor.channel}, not {request.channel}")
        assert actor.channel is not None
        return actor.channel
    if request.channel is None:
        raise Unprocessable("channel is required when the caller is not a channel account")
    return request.channel


async def _serving_warehouse(sql: Sql, request: OrderCreate) -> Pickup:
    if request.warehouse_id is not None:
        row = await sql.one(WAREHOUSE, {"id": request.warehouse_id})
        if row is None:
            raise Unprocessable(f"no warehouse {request.warehouse_id}")
        return Pickup(row[0], row[1], row[2], row[3], bool(row[4]))
    warehouses = [Pickup(r[0], r[1], r[2], r[3], bool(r[4])) for r in await sql.all(WAREHOUSES)]
    if not warehouses:
        raise Conflict("no warehouse is set up to serve orders")
    target = (request.customer.lat, request.customer.lng)
    # The flat-map distance (within 0.1% across a city) ranks them as the geodesic does, at a
    # fraction of its cost, paid by every order.
    return min(warehouses, key=lambda w: flat_metres((w.lat, w.lng), target))


# --- Changes ------------------------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    order_id: int,
    request: TransitionRequest,
    *,
    actor: Principal,
    now: datetime,
    auto_dispatch: bool = False,
    proof_policy: ProofPolicy | None = None,
    ranking: Ranking = Ranking.INSERTION,
) -> OrderRecord:
    """Apply one lifecycle action, with its guards and effects, or refuse and change nothing.
    With `auto_dispatch` (the instance's setting), an order entering PICKING gets a rider.
    Signing needs the proofs `proof_policy` asks for (409 naming what is missing), and its
    event links every proof the order has."""
    order = await load_order(session, order_id, actor, for_update=True)
    await check_version(session, order, request.version, actor)
    rule = decide(OrderState(order.status), request.action, str(actor.role))
    if rule.needs_reason and not request.reason:
        raise Unprocessable(f"{request.action} needs a reason")
    if Guard.RIDER_ASSIGNED in rule.guards and order.rider_id is None:
        raise Conflict(f"order {order.id} has no rider; assign one before {request.action}")
    linked = None
    if rule.action == OrderAction.SIGN:
        linked = {"proofs": await proofs_for_sign(session, order, proof_policy)}
    short = await carry_out(
        session, order, rule, actor=actor, now=now, reason=request.reason, linked=linked
    )
    if short:
        # The stock check at payment: the order is paid but cannot be picked as it is.
        system = system_principal()
        follow_up = decide(OrderState.PAID, OrderAction.REPORT_OUT_OF_STOCK, str(system.role))
        await _move(
            session, order, follow_up, actor=system, now=now, reason=f"short: {', '.join(short)}"
        )
    elif rule.target == OrderState.PICKING and auto_dispatch:
        # Picking has begun: the rider can ride to the warehouse while the goods are picked.
        await auto_assign(session, order, now=now, ranking=ranking)
    return order


async def carry_out(
    session: AsyncSession,
    order: OrderRecord,
    rule: Rule,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None,
    linked: dict[str, Any] | None = None,
) -> list[str]:
    """A rule's effects and its move (and, going out, its parcel's), once the caller has decided
    it may be taken; returns the SKUs a reservation at payment found short. `linked` goes into
    the move's event (the proofs a `sign` cites)."""
    parcels = []
    if rule.action == OrderAction.DISPATCH:
        parcels = await deliveries.require_riders(session, order)
    short = await _apply_effects(session, order, rule, now=now)
    leaves_exception = order.status == OrderState.EXCEPTION and rule.by_request is None
    await _move(session, order, rule, actor=actor, now=now, reason=reason, linked=linked)
    if leaves_exception:
        why = f"the order left EXCEPTION by {rule.action}" + (f": {reason}" if reason else "")
        await withdraw_pending(session, order, actor=actor, now=now, why=why)
    if rule.action == OrderAction.DISPATCH:
        await _send_out(session, order, parcels, actor=actor, now=now)
    return short


async def assign_rider(
    session: AsyncSession,
    order_id: int,
    request: AssignRequest,
    *,
    actor: Principal,
    now: datetime,
) -> OrderRecord:
    """Give the order to a rider who is online, has room and (if needed) a cold-chain box."""
    order = await load_order(session, order_id, actor, for_update=True)
    await check_version(session, order, request.version, actor)
    state = OrderState(order.status)
    if state not in ASSIGNABLE_STATES:
        raise Conflict(f"an order in {state} cannot be given to a rider")
    if order.rider_id == request.rider_id:
        raise Conflict(f"order {order.id} is already with rider {request.rider_id}")
    resume = None
    if request.resume:
        if state != OrderState.EXCEPTION:
            raise Conflict(
                f"only an order in EXCEPTION is resumed; order {order.id} is {state}",
                from_state=str(state),
            )
        resume = decide(state, OrderAction.RESUME, str(actor.role))
    goods = await goods_on_the_road(session, order)
    # Goods on the road travel alone: `for_reassignment` detaches the order from a shared
    # parcel once it is out, so nothing else moves with it to the new rider.
    await give_to_rider(
        session, order, request.rider_id, actor=actor, now=now, reason=request.reason
    )
    if goods is not None:
        await leave_goods(session, order, request.rider_id, goods, now=now)
    if resume is not None:
        taker = await sql_of(session).one(RIDER_NAME, {"id": request.rider_id})
        why = f"reassigned to {taker[0] if taker else f'rider {request.rider_id}'}" + (
            f": {request.reason}" if request.reason else ""
        )
        await carry_out(session, order, resume, actor=actor, now=now, reason=why)
        await resolve_incident(session, order.id, actor=actor, now=now, resolution=why)
    if goods is not None and OrderState(order.status) == OrderState.DELIVERING:
        await _announce_eta(session, order, actor=actor, now=now)
    return order


RIDER_NAME = Query("SELECT name FROM riders WHERE id = :id")
RIDER_FIX = Query("SELECT last_lat, last_lng FROM riders WHERE id = :id")
WAITING_GOODS = Query(
    "SELECT rider_id, pickup_lat, pickup_lng FROM delivery_progress WHERE order_id = :id"
)


async def goods_on_the_road(
    session: AsyncSession, order: OrderRecord
) -> tuple[float, float] | None:
    """Where the goods of an order out for delivery (or stopped in EXCEPTION) are: still
    waiting where an earlier rider left the road, else with its rider (their last fix). None
    while they are at the warehouse, or nobody knows."""
    if order.status not in (OrderState.DELIVERING, OrderState.EXCEPTION) or not order.rider_id:
        return None
    sql = sql_of(session)
    waiting = await sql.one(WAITING_GOODS, {"id": order.id})
    if waiting is not None and waiting[0] == order.rider_id and waiting[1] is not None:
        return (waiting[1], waiting[2])
    fix = await sql.one(RIDER_FIX, {"id": order.rider_id})
    if fix is None or fix[0] is None or fix[1] is None:
        return None
    return (fix[0], fix[1])


async def leave_goods(
    session: AsyncSession,
    order: OrderRecord,
    rider_id: int,
    goods: tuple[float, float],
    *,
    now: datetime,
) -> None:
    """The order's goods wait at `goods` for `rider_id`, who collects them there first."""
    rider = await session.get(RiderRow, rider_id)
    assert rider is not None  # taken a moment ago
    await progress.goods_left_at(session, order.id, (order.lat, order.lng), rider, goods, now=now)


async def _announce_eta(
    session: AsyncSession, order: OrderRecord, *, actor: Principal, now: datetime
) -> None:
    """The new rider's first ETA, via where the goods wait, at once (not at their next fix)."""
    row = await session.get(DeliveryProgressRow, order.id)
    if row is None:
        return
    # The straight line via the goods until the rider's next fix, which the model corrects.
    late = row.eta_at > order.promised_at
    row.late_risk = 1.0 if late else 0.0
    row.eta_sent_at, row.eta_sent, row.late_sent = now, row.eta_at, late
    await append_event(
        session,
        kind="order.eta",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        payload={
            "version": order.version,
            "eta": row.eta_at.isoformat(),
            "predicted_late": late,
            "late_risk": row.late_risk,
            "distance_m": round(row.distance_m, 1),
            "sequence": row.sequence,
            "pickup": {"lat": row.pickup_lat, "lng": row.pickup_lng},
            "channel": order.channel,
            "zone": order.zone,
        },
    )


async def auto_assign(
    session: AsyncSession,
    order: OrderRecord,
    *,
    now: datetime,
    ranking: Ranking = Ranking.INSERTION,
) -> bool:
    """Give a picking order with no rider a rider: its parcel's, when it was merged into one
    that has a rider already; else, if its warehouse dispatches by itself, the best rider for
    each of its parcels (all or none, each a different rider). The caller holds the order's
    row lock."""
    if order.status != OrderState.PICKING or order.rider_id is not None:
        return False
    system = system_principal()
    lead = await deliveries.lead(session, order)
    if lead.rider_id is not None:
        reason = f"rides with delivery {lead.id}, already given to rider {lead.rider_id}"
        await record_assignment(session, order, lead.rider_id, actor=system, now=now, reason=reason)
        return True
    row = await sql_of(session).one(WAREHOUSE, {"id": order.warehouse_id})
    if row is None or not row[4]:
        return False
    pickup = Pickup(row[0], row[1], row[2], row[3], bool(row[4]))
    chosen: list[tuple[DeliveryRecord, str]] = []
    for parcel in await deliveries.riderless(session, order):
        busy = {p.rider_id for p, _ in chosen}
        why = await _auto_take(session, order, parcel, pickup, busy, ranking=ranking, now=now)
        if why is None:
            for taken, _ in chosen:
                await deliveries.untake(session, taken)
            return False
        chosen.append((parcel, why))
    for parcel, reason in chosen:
        if parcel.id == lead.id:
            assert parcel.rider_id is not None
            for moving in await deliveries.riding_with(session, parcel, order):
                await record_assignment(
                    session, moving, parcel.rider_id, actor=system, now=now, reason=reason
                )
        else:
            await deliveries.tell(
                session, order, actor=system, now=now, action="assigned", delivery=parcel,
                reason=f"delivery {parcel.id} (a part of this order): {reason}",
            )  # fmt: skip
    return bool(chosen)


async def _auto_take(
    session: AsyncSession,
    order: OrderRecord,
    parcel: DeliveryRecord,
    pickup: Pickup,
    busy: set[int | None],
    *,
    ranking: Ranking,
    now: datetime,
) -> str | None:
    """Give the parcel to the best rider in reach (not one in `busy`); the reason, or None."""
    ranked = await rank_riders(
        session, order, pickup, limit=SHORTLIST, cold_chain=parcel.cold_chain, by=ranking, now=now
    )
    for candidate in ranked:
        if candidate.distance_m > AUTO_DISPATCH_REACH_M or candidate.rider.id in busy:
            continue
        reason = (
            f"auto-dispatch: {candidate.distance_m / 1000:.1f} km from {pickup.id}, "
            f"carrying {candidate.rider.active_orders}"
        )
        try:
            await deliveries.take(session, parcel, candidate.rider.id)
        except Conflict:
            continue  # taken by someone else since the ranking: try the next one
        return reason
    return None


async def give_to_rider(
    session: AsyncSession,
    order: OrderRecord,
    rider_id: int,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None,
) -> None:
    """The order's parcel changes rider (one slot, whatever it holds); merged orders that ride
    in it change with it."""
    parcel = await deliveries.for_reassignment(session, order, now=now)
    await deliveries.take(session, parcel, rider_id)
    for moving in await deliveries.riding_with(session, parcel, order):
        why = reason
        if moving is not order:
            why = f"same parcel (delivery {parcel.id}) as order {order.id}" + (
                f": {reason}" if reason else ""
            )
        await record_assignment(session, moving, rider_id, actor=actor, now=now, reason=why)


async def record_assignment(
    session: AsyncSession,
    order: OrderRecord,
    rider_id: int | None,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None,
) -> None:
    state = OrderState(order.status)
    previous = order.rider_id
    order.rider_id = rider_id
    order.version += 1
    order.updated_at = now
    await records.save(sql_of(session), order)
    await append_event(
        session,
        kind="order.assigned",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=rider_id,
        warehouse_id=order.warehouse_id,
        from_state=state,
        to_state=state,
        reason=reason,
        payload={
            "version": order.version,
            "channel": order.channel,
            "zone": order.zone,
            "from_rider": previous,
            "to_rider": rider_id,
        },
    )


async def _send_out(
    session: AsyncSession,
    order: OrderRecord,
    parcels: list[DeliveryRecord],
    *,
    actor: Principal,
    now: datetime,
) -> None:
    """The order went out: the other picked orders of its parcel go with it (one parcel); the
    ones not ready leave it, keeping their rider on a parcel of their own if they can."""
    departure = await deliveries.send_out(session, order, parcels)
    rule = RULES_BY_ACTION[OrderAction.DISPATCH]
    for companion, parcel in departure.companions:
        if companion.rider_id != parcel.rider_id:
            await record_assignment(
                session, companion, parcel.rider_id, actor=actor, now=now,
                reason=f"rides with delivery {parcel.id}",
            )  # fmt: skip
        await _apply_effects(session, companion, rule, now=now)
        reason = f"out with order {order.id}: one parcel (delivery {parcel.id})"
        await _move(session, companion, rule, actor=actor, now=now, reason=reason)
    for waiting, parcel in departure.left_behind:
        alone = await deliveries.detach(session, waiting, parcel, status="open", now=now)
        await deliveries.tell(
            session, waiting, actor=actor, now=now, action="detached", delivery=alone,
            reason=(
                f"left delivery {parcel.id} when it went out with order {order.id} "
                f"({waiting.status}, not ready): now delivery {alone.id}"
            ),
        )  # fmt: skip
        if waiting.rider_id is None:
            continue
        try:
            await deliveries.take(session, alone, waiting.rider_id)
        except Conflict as exc:
            await record_assignment(
                session, waiting, None, actor=system_principal(), now=now,
                reason=f"rider {waiting.rider_id} left with delivery {parcel.id}: {exc.detail}",
            )  # fmt: skip


async def check_version(
    session: AsyncSession, order: OrderRecord, version: int, viewer: Principal
) -> None:
    if version == order.version:
        return
    actor, role = await records.last_change(sql_of(session), order.id) or (None, None)
    changed_by = actor if sees_staff_details(viewer) else role
    raise StaleVersion(
        f"order {order.id} is at version {order.version}, not {version}; "
        f"last changed by {changed_by}",
        current_version=order.version,
        changed_by=changed_by,
    )


async def _apply_effects(
    session: AsyncSession, order: OrderRecord, rule: Rule, *, now: datetime
) -> list[str]:
    """Carry out the rule's effects; returns the SKUs found short by a reservation at payment."""
    lines = [(item.sku, item.quantity) for item in order.items]
    short: list[str] = []
    for effect in rule.effects:
        match effect:
            case Effect.RESERVE_STOCK | Effect.REQUIRE_STOCK:
                short = await stock.reserve(session, order.warehouse_id, lines)
                if short and effect == Effect.REQUIRE_STOCK:
                    raise Conflict(
                        f"order {order.id} is still short of {', '.join(short)} "
                        f"in {order.warehouse_id}",
                        short=short,
                    )
                if not short:
                    order.stock_state = "reserved"
            case Effect.RELEASE_STOCK if order.stock_state == "reserved":
                await stock.release(session, order.warehouse_id, lines)
                order.stock_state = "released"
            case Effect.CONSUME_STOCK if order.stock_state == "reserved":
                await stock.consume(session, order.warehouse_id, lines)
                order.stock_state = "consumed"
            case Effect.RESTOCK_RETURNED if order.stock_state == "consumed":
                await stock.restock(session, order.warehouse_id, lines)
                order.stock_state = "returned"
            case Effect.RELEASE_RIDER if OrderState(order.status) not in RIDER_FREE_STATES:
                # Its parcels: done once nothing else in them is carried (the rider's slot is
                # free then); a cancelled order leaves them.
                leaving = rule.target == OrderState.CANCELLED
                await deliveries.release(session, order, leaving=leaving, now=now)
    return short


async def _move(
    session: AsyncSession,
    order: OrderRecord,
    rule: Rule,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None,
    linked: dict[str, Any] | None = None,
) -> None:
    before = order.status
    if before == OrderState.DELIVERING and order.rider_id is not None:
        # A stop is done (or the trip cut short): the rider's next leg starts here.
        await progress.new_leg(session, order.rider_id)
    order.status = rule.target
    order.version += 1
    order.open_rank = 1 if rule.target in FINAL_STATES else 0
    order.updated_at = now
    setattr(order, STAGE_COLUMN[rule.target], now)
    await records.save(sql_of(session), order)
    await append_event(
        session,
        kind="order.transition",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        from_state=before,
        to_state=rule.target,
        reason=reason,
        payload={
            "action": rule.action,
            "version": order.version,
            "channel": order.channel,
            "zone": order.zone,
            **(linked or {}),
        },
    )
