"""Deliveries: placing an order's lines in parcels (merged with an open parcel of the same
customer and address, or split when one rider cannot carry it all), and keeping riders' loads
by parcel as orders are assigned, go out, are signed, returned or cancelled.

Everything runs inside the caller's write transaction; the events it appends say what happened
to each order's delivery (kind `order.delivery`), so the order's timeline tells it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.dispatch.models import DeliveryItemRow, DeliveryRow
from backend.dispatch.parcels import Limits, Line, Parcel, fits, pack
from backend.errors import Conflict
from backend.orders.lifecycle import ASSIGNABLE_STATES, RIDER_FREE_STATES
from backend.orders.models import OrderRow
from backend.realtime.outbox import append_event
from backend.riders import service as riders
from backend.riders.models import RiderRow
from backend_client.models import OrderState

OPEN, OUT, DONE = "open", "out", "done"


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """How a new order is put in parcels: the carrying limits, how long an open parcel takes
    more orders (zero: never), and the key orders must share to travel together (None: the
    same customer to the same address)."""

    limits: Limits
    merge_window: timedelta
    merge_key: str | None = None


def customer_key(customer_id: int, address: str) -> str:
    """Orders of one customer to one address (spelled alike, case and spaces aside)."""
    spelled = " ".join(address.lower().split())
    return f"customer:{customer_id}:{hashlib.sha256(spelled.encode()).hexdigest()[:24]}"


def pickup_key(channel: str, point: str) -> str:
    """Orders to one group-buy leader's pick-up point."""
    return f"pickup:{channel}:{hashlib.sha256(point.encode()).hexdigest()[:24]}"


def lines_of(order: OrderRow) -> list[Line]:
    return [
        Line(i.line, i.sku, i.quantity, i.weight_g // max(1, i.quantity), i.cold_chain)
        for i in order.items
    ]


# --- Placing a new order ------------------------------------------------------------------------


async def place(
    session: AsyncSession,
    order: OrderRow,
    plan: DeliveryPlan | None,
    *,
    actor: Principal,
    now: datetime,
) -> list[DeliveryRow]:
    """Put a new order in parcels. Without a plan: one parcel of its own, as sent. With one:
    split when one rider cannot carry it (`parcels.TooHeavy` when no rider ever could), else
    merged into an open parcel with the same key that it fits, else a new parcel."""
    lines = lines_of(order)
    if plan is None:
        whole = Parcel()
        for line in lines:
            whole.add(line, line.quantity)
        return [await _new_delivery(session, order, whole, lines, key=None, now=now)]
    parcels = pack(lines, plan.limits)
    key = plan.merge_key or customer_key(order.customer_id, order.address)
    if len(parcels) == 1 and plan.merge_window > timedelta(0):
        joined = await _join_open(
            session, order, parcels[0], lines, plan, key, actor=actor, now=now
        )
        if joined is not None:
            return [joined]
    made = [
        await _new_delivery(session, order, parcel, lines, key=key, now=now) for parcel in parcels
    ]
    if len(made) > 1:
        limits = plan.limits
        await _event(
            session,
            order,
            actor=actor,
            now=now,
            action="split",
            deliveries=[d.id for d in made],
            reason=(
                f"split into {len(made)} deliveries "
                f"({', '.join(f'{d.weight_g / 1000:g} kg' for d in made)}): "
                f"{order.weight_g / 1000:g} kg, {sum(d.cold_weight_g for d in made) / 1000:g} kg "
                f"of it cold chain, and one rider carries {limits.max_load_g / 1000:g} kg with "
                f"{limits.cold_box_g / 1000:g} kg in the cold box"
            ),
        )
    return made


async def _new_delivery(
    session: AsyncSession,
    order: OrderRow,
    parcel: Parcel,
    lines: list[Line],
    *,
    key: str | None,
    now: datetime,
) -> DeliveryRow:
    delivery = DeliveryRow(
        warehouse_id=order.warehouse_id,
        status=OPEN,
        merge_key=key,
        weight_g=0,
        cold_weight_g=0,
        opened_at=now,
    )
    session.add(delivery)
    await session.flush()
    _add_units(session, delivery, order, parcel, lines)
    return delivery


def _add_units(
    session: AsyncSession,
    delivery: DeliveryRow,
    order: OrderRow,
    parcel: Parcel,
    lines: list[Line],
) -> None:
    by_number = {line.line: line for line in lines}
    for number, quantity in sorted(parcel.units.items()):
        line = by_number[number]
        session.add(
            DeliveryItemRow(
                delivery_id=delivery.id,
                order_id=order.id,
                line=number,
                quantity=quantity,
                weight_g=quantity * line.unit_weight_g,
                cold_chain=line.cold_chain,
            )
        )
    delivery.weight_g += parcel.weight_g
    delivery.cold_weight_g += parcel.cold_weight_g


async def _join_open(
    session: AsyncSession,
    order: OrderRow,
    parcel: Parcel,
    lines: list[Line],
    plan: DeliveryPlan,
    key: str,
    *,
    actor: Principal,
    now: datetime,
) -> DeliveryRow | None:
    """The oldest open parcel with the order's key, opened within the window, not out yet,
    that the order fits (weight, cold box, and its rider's box if it has a rider)."""
    candidates = await session.scalars(
        select(DeliveryRow)
        .where(
            DeliveryRow.merge_key == key,
            DeliveryRow.status == OPEN,
            DeliveryRow.warehouse_id == order.warehouse_id,
            DeliveryRow.opened_at >= now - plan.merge_window,
        )
        .order_by(DeliveryRow.id)
        .with_for_update()
    )
    for delivery in candidates.all():
        rider_cold = None
        if delivery.rider_id is not None:
            rider_cold = await session.scalar(
                select(RiderRow.cold_chain).where(RiderRow.id == delivery.rider_id)
            )
        if not fits(
            delivery.weight_g, delivery.cold_weight_g, parcel, plan.limits, rider_cold=rider_cold
        ):
            continue
        companions = await order_ids_in(session, delivery.id)
        _add_units(session, delivery, order, parcel, lines)
        minutes = (now - delivery.opened_at).total_seconds() / 60
        why = "same pick-up point" if key.startswith("pickup:") else "same customer and address"
        await _event(
            session,
            order,
            actor=actor,
            now=now,
            action="merged",
            deliveries=[delivery.id],
            orders=companions,
            reason=(
                f"merged into delivery {delivery.id} with order(s) "
                f"{', '.join(map(str, companions))} ({why}, {minutes:.0f} min "
                f"after it opened): one parcel, {delivery.weight_g / 1000:g} kg"
            ),
        )
        for companion in await _orders(session, companions):
            await _event(
                session,
                companion,
                actor=actor,
                now=now,
                action="joined",
                deliveries=[delivery.id],
                orders=[order.id],
                reason=f"order {order.id} joined its delivery {delivery.id} ({why})",
            )
        return delivery
    return None


# --- Reading ------------------------------------------------------------------------------------


async def of_order(session: AsyncSession, order_id: int) -> list[DeliveryRow]:
    """The order's deliveries, oldest first (the first one is its lead parcel)."""
    held = select(DeliveryItemRow.delivery_id).where(DeliveryItemRow.order_id == order_id)
    rows = await session.scalars(
        select(DeliveryRow).where(DeliveryRow.id.in_(held)).order_by(DeliveryRow.id)
    )
    return list(rows.all())


async def lead(session: AsyncSession, order: OrderRow) -> DeliveryRow:
    """The parcel whose rider is the order's rider: its first one not done yet."""
    deliveries = await of_order(session, order.id)
    if not deliveries:
        # Every order is placed at intake; one without parcels gets one of its own.
        lines = lines_of(order)
        whole = Parcel()
        for line in lines:
            whole.add(line, line.quantity)
        return await _new_delivery(session, order, whole, lines, key=None, now=order.updated_at)
    return next((d for d in deliveries if d.status != DONE), deliveries[0])


async def order_ids_in(session: AsyncSession, delivery_id: int) -> list[int]:
    rows = await session.scalars(
        select(DeliveryItemRow.order_id)
        .where(DeliveryItemRow.delivery_id == delivery_id)
        .distinct()
        .order_by(DeliveryItemRow.order_id)
    )
    return list(rows.all())


async def _orders(session: AsyncSession, order_ids: list[int]) -> list[OrderRow]:
    """Orders locked in id order, so two parcels' changes queue instead of deadlocking."""
    if not order_ids:
        return []
    rows = await session.scalars(
        select(OrderRow)
        .where(OrderRow.id.in_(sorted(order_ids)))
        .order_by(OrderRow.id)
        .with_for_update(of=OrderRow)
    )
    return list(rows.all())


async def riderless(session: AsyncSession, order: OrderRow) -> list[DeliveryRow]:
    """The order's parcels still waiting for a rider, lead first."""
    return [d for d in await of_order(session, order.id) if d.status != DONE and d.rider_id is None]


async def require_riders(session: AsyncSession, order: OrderRow) -> None:
    """Every parcel of the order must have a rider before it goes out."""
    waiting = [d.id for d in await riderless(session, order)]
    if waiting:
        raise Conflict(
            f"order {order.id} is split and delivery {', '.join(map(str, waiting))} has no "
            "rider yet; assign one before dispatch",
            deliveries=waiting,
        )


# --- Riders -------------------------------------------------------------------------------------


async def take(session: AsyncSession, delivery: DeliveryRow, rider_id: int) -> None:
    """Give the parcel to a rider: one slot of theirs (whatever it holds), freed from its
    previous rider; Conflict when the rider is offline, full or without a needed cold box."""
    previous = delivery.rider_id
    await riders.lock_riders(session, {rider_id} | ({previous} if previous else set()))
    await riders.take_slot(session, rider_id, cold_chain=delivery.cold_chain)
    if previous is not None:
        await riders.free_slot(session, previous)
    delivery.rider_id = rider_id


async def untake(session: AsyncSession, delivery: DeliveryRow) -> None:
    """Undo `take` on a parcel that had no rider before (an all-or-nothing assignment failed)."""
    if delivery.rider_id is not None:
        await riders.free_slot(session, delivery.rider_id)
        delivery.rider_id = None


async def for_reassignment(session: AsyncSession, order: OrderRow, *, now: datetime) -> DeliveryRow:
    """The parcel that changes rider when the order does: its lead parcel while nothing of it
    is on the road (merged orders move together); once out, the order alone, detached."""
    delivery = await lead(session, order)
    if delivery.status != OUT:
        return delivery
    others = [o for o in await order_ids_in(session, delivery.id) if o != order.id]
    still_carried = [
        o for o in await _orders(session, others) if OrderState(o.status) not in RIDER_FREE_STATES
    ]
    if not still_carried:
        return delivery
    return await detach(session, order, delivery, status=OUT, now=now)


async def riding_with(
    session: AsyncSession, delivery: DeliveryRow, order: OrderRow
) -> list[OrderRow]:
    """`order` and the other orders of its parcel that must now follow the parcel's rider."""
    others = [o for o in await order_ids_in(session, delivery.id) if o != order.id]
    moving = [order]
    for other in await _orders(session, others):
        if OrderState(other.status) in ASSIGNABLE_STATES and other.rider_id != delivery.rider_id:
            moving.append(other)
    return moving


# --- Going out and coming back ------------------------------------------------------------------


@dataclass
class Departure:
    """What leaving with an order means for the rest of its parcels."""

    companions: list[tuple[OrderRow, DeliveryRow]] = field(default_factory=list)
    """Other picked orders in the same parcel: they go out too."""
    left_behind: list[tuple[OrderRow, DeliveryRow]] = field(default_factory=list)
    """Orders not ready (unpaid, unpicked, short): they leave the parcel."""


async def send_out(session: AsyncSession, order: OrderRow) -> Departure:
    """The order's parcels are on the road now."""
    departure = Departure()
    for delivery in await of_order(session, order.id):
        if delivery.status != OPEN:
            continue
        delivery.status = OUT
        others = [o for o in await order_ids_in(session, delivery.id) if o != order.id]
        for other in await _orders(session, others):
            state = OrderState(other.status)
            if state == OrderState.PICKING:
                departure.companions.append((other, delivery))
            elif state not in RIDER_FREE_STATES:
                departure.left_behind.append((other, delivery))
    return departure


async def detach(
    session: AsyncSession, order: OrderRow, delivery: DeliveryRow, *, status: str, now: datetime
) -> DeliveryRow:
    """Move the order's units out of `delivery` into a new parcel of its own (no rider yet)."""
    items = list(
        (
            await session.scalars(
                select(DeliveryItemRow).where(
                    DeliveryItemRow.delivery_id == delivery.id,
                    DeliveryItemRow.order_id == order.id,
                )
            )
        ).all()
    )
    alone = DeliveryRow(
        warehouse_id=delivery.warehouse_id,
        status=status,
        merge_key=delivery.merge_key if status == OPEN else None,
        weight_g=sum(i.weight_g for i in items),
        cold_weight_g=sum(i.weight_g for i in items if i.cold_chain),
        opened_at=now,
    )
    session.add(alone)
    await session.flush()
    for item in items:
        session.add(
            DeliveryItemRow(
                delivery_id=alone.id,
                order_id=order.id,
                line=item.line,
                quantity=item.quantity,
                weight_g=item.weight_g,
                cold_chain=item.cold_chain,
            )
        )
    await _drop_units(session, delivery, order.id)
    return alone


async def release(session: AsyncSession, order: OrderRow, *, leaving: bool, now: datetime) -> None:
    """The order is off its riders' hands (signed, returned, claimed) or, `leaving`, cancelled
    and out of its parcels: each parcel with nothing else still carried is done, and its
    rider's slot free."""
    for delivery in await of_order(session, order.id):
        if delivery.status == DONE:
            continue
        if leaving:
            await _drop_units(session, delivery, order.id)
        others = [o for o in await order_ids_in(session, delivery.id) if o != order.id]
        carried = [
            o
            for o in await _orders(session, others)
            if OrderState(o.status) not in RIDER_FREE_STATES
        ]
        if carried:
            continue
        delivery.status = DONE
        delivery.closed_at = now
        if delivery.rider_id is not None:
            await riders.free_slot(session, delivery.rider_id)


async def _drop_units(session: AsyncSession, delivery: DeliveryRow, order_id: int) -> None:
    await session.execute(
        delete(DeliveryItemRow).where(
            DeliveryItemRow.delivery_id == delivery.id, DeliveryItemRow.order_id == order_id
        )
    )
    weight, cold = (
        await session.execute(
            select(
                func.coalesce(func.sum(DeliveryItemRow.weight_g), 0),
                func.coalesce(
                    func.sum(DeliveryItemRow.weight_g).filter(DeliveryItemRow.cold_chain), 0
                ),
            ).where(DeliveryItemRow.delivery_id == delivery.id)
        )
    ).one()
    delivery.weight_g, delivery.cold_weight_g = int(weight), int(cold)


# --- Telling it ---------------------------------------------------------------------------------


async def _event(
    session: AsyncSession,
    order: OrderRow,
    *,
    actor: Principal,
    now: datetime,
    action: str,
    deliveries: list[int],
    reason: str,
    orders: list[int] | None = None,
    rider_id: int | None = None,
) -> None:
    await append_event(
        session,
        kind="order.delivery",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=rider_id,
        warehouse_id=order.warehouse_id,
        reason=reason[:500],
        payload={
            # The order itself did not change: its version stays, so consoles keep their copy.
            "version": order.version,
            "channel": order.channel,
            "zone": order.zone,
            "action": action,
            "deliveries": deliveries,
            "orders": orders or [],
        },
    )


async def tell(
    session: AsyncSession,
    order: OrderRow,
    *,
    actor: Principal,
    now: datetime,
    action: str,
    delivery: DeliveryRow,
    reason: str,
) -> None:
    """An `order.delivery` event about one of the order's parcels."""
    await _event(
        session,
        order,
        actor=actor,
        now=now,
        action=action,
        deliveries=[delivery.id],
        reason=reason,
        rider_id=delivery.rider_id,
    )
