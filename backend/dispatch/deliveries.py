"""Deliveries: placing an order's lines in parcels (merged with an open parcel of the same
customer and address, or split when one rider cannot carry it all), and keeping riders' loads
by parcel as orders are assigned, go out, are signed, returned or cancelled.

Everything runs inside the caller's write transaction, in written-out SQL (`backend/sql.py`);
the events it appends say what happened to each order's delivery (kind `order.delivery`), so
the order's timeline tells it. The readers (`of_order`, `lead`) serve read sessions too.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.crypto.cipher import active
from backend.dispatch.parcels import Limits, Line, Parcel, fits, pack
from backend.errors import Conflict
from backend.orders import records
from backend.orders.lifecycle import ASSIGNABLE_STATES, RIDER_FREE_STATES
from backend.orders.records import OrderRecord
from backend.realtime.outbox import append_event
from backend.riders import service as riders
from backend.sql import Query, Row, Sql, save_changed, sql_of, when
from backend_client.models import OrderState

OPEN, OUT, DONE = "open", "out", "done"


@dataclass(slots=True, eq=False)
class DeliveryRecord:
    """One parcel (a row of `deliveries`); assigning a column marks it for `_save`."""

    id: int
    warehouse_id: str
    status: str
    merge_key: str | None
    rider_id: int | None
    weight_g: int
    cold_weight_g: int
    opened_at: datetime
    closed_at: datetime | None
    carried: tuple[int, ...] = ()
    """The orders with units in it, as read with it (`of_order`; None of this is written)."""
    changed: set[str] = field(default_factory=set)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name not in ("changed", "id", "carried"):
            # Made field by field by __init__, `changed` comes last: nothing to mark before it.
            with contextlib.suppress(AttributeError):
                self.changed.add(name)

    @property
    def cold_chain(self) -> bool:
        """The parcel needs a rider with a cold-chain box."""
        return self.cold_weight_g > 0

    @classmethod
    def of_row(cls, row: Row, carried: tuple[int, ...] = ()) -> DeliveryRecord:
        record = object.__new__(cls)
        for name, value in zip(_COLUMNS, row, strict=True):
            object.__setattr__(record, name, when(value) if name.endswith("_at") else value)
        object.__setattr__(record, "carried", carried)
        object.__setattr__(record, "changed", set())
        return record


_COLUMNS = tuple(f.name for f in fields(DeliveryRecord) if f.name not in ("changed", "carried"))
_LIST = ", ".join(_COLUMNS)
OF_ORDER = Query(
    f"SELECT {', '.join('d.' + c for c in _COLUMNS)}, i.order_id FROM deliveries d "
    "JOIN delivery_items i ON i.delivery_id = d.id WHERE d.id IN "
    "(SELECT delivery_id FROM delivery_items WHERE order_id = :order_id) ORDER BY d.id"
)
"""The order's parcels with every order they carry: a row per unit line."""
OPEN_WITH_KEY = Query(
    f"SELECT {_LIST} FROM deliveries WHERE merge_key = :key AND status = 'open' "
    "AND warehouse_id = :warehouse_id AND opened_at >= :since ORDER BY id FOR UPDATE"
)
ORDER_IDS_IN = Query(
    "SELECT DISTINCT order_id FROM delivery_items WHERE delivery_id = :id ORDER BY order_id"
)
INSERT = Query(
    f"INSERT INTO deliveries ({_LIST.removeprefix('id, ')}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS[1:])}) RETURNING id"
)
INSERT_UNITS = Query(
    "INSERT INTO delivery_items (delivery_id, order_id, line, quantity, weight_g, cold_chain) "
    "VALUES (:delivery_id, :order_id, :line, :quantity, :weight_g, :cold_chain)"
)
UNITS_OF = Query(
    "SELECT line, quantity, weight_g, cold_chain FROM delivery_items "
    "WHERE delivery_id = :delivery_id AND order_id = :order_id ORDER BY line"
)
DROP_UNITS = Query(
    "DELETE FROM delivery_items WHERE delivery_id = :delivery_id AND order_id = :order_id"
)
WEIGHT = Query(
    "SELECT coalesce(sum(weight_g), 0), "
    "coalesce(sum(CASE WHEN cold_chain THEN weight_g ELSE 0 END), 0) "
    "FROM delivery_items WHERE delivery_id = :delivery_id"
)
RIDER_COLD_BOX = Query("SELECT cold_chain FROM riders WHERE id = :id")


async def _save(sql: Sql, delivery: DeliveryRecord) -> None:
    await save_changed(sql, "deliveries", delivery)


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
    # Keyed: a plain hash of an address is found again by hashing guessed addresses.
    return f"customer:{customer_id}:{active().blind('address', spelled)[:24]}"


def pickup_key(channel: str, point: str) -> str:
    """Orders to one group-buy leader's pick-up point."""
    return f"pickup:{channel}:{hashlib.sha256(point.encode()).hexdigest()[:24]}"


def lines_of(order: OrderRecord) -> list[Line]:
    return [
        Line(i.line, i.sku, i.quantity, i.weight_g // max(1, i.quantity), i.cold_chain)
        for i in order.items
    ]


# --- Placing a new order ------------------------------------------------------------------------


async def place(
    session: AsyncSession,
    order: OrderRecord,
    plan: DeliveryPlan | None,
    *,
    actor: Principal,
    now: datetime,
) -> list[DeliveryRecord]:
    """Put a new order in parcels. Without a plan: one parcel of its own, as sent. With one:
    split when one rider cannot carry it (`parcels.TooHeavy` when no rider ever could), else
    merged into an open parcel with the same key that it fits, else a new parcel."""
    sql = sql_of(session)
    lines = lines_of(order)
    if plan is None:
        return [await _new_delivery(sql, order, _whole(lines), lines, key=None, now=now)]
    parcels = pack(lines, plan.limits)
    key = plan.merge_key or customer_key(order.customer_id, order.address)
    if len(parcels) == 1 and plan.merge_window > timedelta(0):
        joined = await _join_open(
            session, order, parcels[0], lines, plan, key, actor=actor, now=now
        )
        if joined is not None:
            return [joined]
    made = [await _new_delivery(sql, order, parcel, lines, key=key, now=now) for parcel in parcels]
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


def _whole(lines: list[Line]) -> Parcel:
    whole = Parcel()
    for line in lines:
        whole.add(line, line.quantity)
    return whole


async def _new_delivery(
    sql: Sql,
    order: OrderRecord,
    parcel: Parcel,
    lines: list[Line],
    *,
    key: str | None,
    now: datetime,
) -> DeliveryRecord:
    values: dict[str, Any] = {
        "warehouse_id": order.warehouse_id,
        "status": OPEN,
        "merge_key": key,
        "rider_id": None,
        "weight_g": 0,
        "cold_weight_g": 0,
        "opened_at": now,
        "closed_at": None,
    }
    row = await sql.one(INSERT, values)
    assert row is not None
    delivery = DeliveryRecord.of_row((int(row[0]), *values.values()), (order.id,))
    await _add_units(sql, delivery, order, parcel, lines)
    return delivery


async def _add_units(
    sql: Sql,
    delivery: DeliveryRecord,
    order: OrderRecord,
    parcel: Parcel,
    lines: list[Line],
) -> None:
    by_number = {line.line: line for line in lines}
    units = []
    for number, quantity in sorted(parcel.units.items()):
        line = by_number[number]
        units.append(
            {
                "delivery_id": delivery.id,
                "order_id": order.id,
                "line": number,
                "quantity": quantity,
                "weight_g": quantity * line.unit_weight_g,
                "cold_chain": line.cold_chain,
            }
        )
    await sql.many(INSERT_UNITS, units)
    delivery.weight_g += parcel.weight_g
    delivery.cold_weight_g += parcel.cold_weight_g
    await _save(sql, delivery)


async def _join_open(
    session: AsyncSession,
    order: OrderRecord,
    parcel: Parcel,
    lines: list[Line],
    plan: DeliveryPlan,
    key: str,
    *,
    actor: Principal,
    now: datetime,
) -> DeliveryRecord | None:
    """The oldest open parcel with the order's key, opened within the window, not out yet,
    that the order fits (weight, cold box, and its rider's box if it has a rider)."""
    sql = sql_of(session)
    candidates = await sql.all(
        OPEN_WITH_KEY,
        {"key": key, "warehouse_id": order.warehouse_id, "since": now - plan.merge_window},
    )
    for delivery in map(DeliveryRecord.of_row, candidates):
        rider_cold = None
        if delivery.rider_id is not None:
            box = await sql.one(RIDER_COLD_BOX, {"id": delivery.rider_id})
            rider_cold = None if box is None else bool(box[0])
        if not fits(
            delivery.weight_g, delivery.cold_weight_g, parcel, plan.limits, rider_cold=rider_cold
        ):
            continue
        companions = await order_ids_in(session, delivery.id)
        await _add_units(sql, delivery, order, parcel, lines)
        delivery.carried = (*companions, order.id)
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
                f"merged into delivery {delivery.id} with "
                f"{'order' if len(companions) == 1 else 'orders'} "
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


async def of_order(session: AsyncSession, order_id: int) -> list[DeliveryRecord]:
    """The order's deliveries, oldest first (the first one is its lead parcel), each with the
    orders it carries."""
    rows = await sql_of(session).all(OF_ORDER, {"order_id": order_id})
    width = len(_COLUMNS)
    carried: dict[int, tuple[Row, set[int]]] = {}
    for row in rows:
        carried.setdefault(row[0], (row[:width], set()))[1].add(row[width])
    return [DeliveryRecord.of_row(row, tuple(sorted(ids))) for row, ids in carried.values()]


async def lead(session: AsyncSession, order: OrderRecord) -> DeliveryRecord:
    """The parcel whose rider is the order's rider: its first one not done yet."""
    deliveries = await of_order(session, order.id)
    if not deliveries:
        # Every order is placed at intake; one without parcels gets one of its own.
        lines = lines_of(order)
        return await _new_delivery(
            sql_of(session), order, _whole(lines), lines, key=None, now=order.updated_at
        )
    return next((d for d in deliveries if d.status != DONE), deliveries[0])


async def order_ids_in(session: AsyncSession, delivery_id: int) -> list[int]:
    rows = await sql_of(session).all(ORDER_IDS_IN, {"id": delivery_id})
    return [row[0] for row in rows]


async def _orders(session: AsyncSession, order_ids: list[int]) -> list[OrderRecord]:
    """Orders locked in id order, so two parcels' changes queue instead of deadlocking."""
    return await records.load_many(sql_of(session), order_ids, lock=True)


async def riderless(session: AsyncSession, order: OrderRecord) -> list[DeliveryRecord]:
    """The order's parcels still waiting for a rider, lead first."""
    return [d for d in await of_order(session, order.id) if d.status != DONE and d.rider_id is None]


async def require_riders(session: AsyncSession, order: OrderRecord) -> list[DeliveryRecord]:
    """Every parcel of the order must have a rider before it goes out; they are returned."""
    parcels = await of_order(session, order.id)
    waiting = [d.id for d in parcels if d.status != DONE and d.rider_id is None]
    if waiting:
        raise Conflict(
            f"order {order.id} is split and delivery {', '.join(map(str, waiting))} has no "
            "rider yet; assign one before dispatch",
            deliveries=waiting,
        )
    return parcels


# --- Riders -------------------------------------------------------------------------------------


async def take(session: AsyncSession, delivery: DeliveryRecord, rider_id: int) -> None:
    """Give the parcel to a rider: one slot of theirs (whatever it holds), freed from its
    previous rider; Conflict when the rider is offline, full or without a needed cold box."""
    previous = delivery.rider_id
    if previous is not None:
        # Two riders: their rows locked in id order (see `lock_riders`); one locks itself.
        await riders.lock_riders(session, {rider_id, previous})
    await riders.take_slot(session, rider_id, cold_chain=delivery.cold_chain)
    if previous is not None:
        await riders.free_slot(session, previous)
    delivery.rider_id = rider_id
    await _save(sql_of(session), delivery)


async def untake(session: AsyncSession, delivery: DeliveryRecord) -> None:
    """Undo `take` on a parcel that had no rider before (an all-or-nothing assignment failed)."""
    if delivery.rider_id is not None:
        await riders.free_slot(session, delivery.rider_id)
        delivery.rider_id = None
        await _save(sql_of(session), delivery)


async def for_reassignment(
    session: AsyncSession, order: OrderRecord, *, now: datetime
) -> DeliveryRecord:
    """The parcel that changes rider when the order does: its lead parcel while nothing of it
    is on the road (merged orders move together); once out, the order alone, detached."""
    delivery = await lead(session, order)
    if delivery.status != OUT:
        return delivery
    others = [o for o in delivery.carried if o != order.id]
    still_carried = [
        o for o in await _orders(session, others) if OrderState(o.status) not in RIDER_FREE_STATES
    ]
    if not still_carried:
        return delivery
    return await detach(session, order, delivery, status=OUT, now=now)


async def riding_with(
    session: AsyncSession, delivery: DeliveryRecord, order: OrderRecord
) -> list[OrderRecord]:
    """`order` and the other orders of its parcel that must now follow the parcel's rider."""
    others = [o for o in delivery.carried if o != order.id]
    moving = [order]
    for other in await _orders(session, others):
        if OrderState(other.status) in ASSIGNABLE_STATES and other.rider_id != delivery.rider_id:
            moving.append(other)
    return moving


# --- Going out and coming back ------------------------------------------------------------------


@dataclass
class Departure:
    """What leaving with an order means for the rest of its parcels."""

    companions: list[tuple[OrderRecord, DeliveryRecord]] = field(default_factory=list)
    """Other picked orders in the same parcel: they go out too."""
    left_behind: list[tuple[OrderRecord, DeliveryRecord]] = field(default_factory=list)
    """Orders not ready (unpaid, unpicked, short): they leave the parcel."""


async def send_out(
    session: AsyncSession, order: OrderRecord, parcels: list[DeliveryRecord]
) -> Departure:
    """The order's parcels (`of_order`, read in this transaction) are on the road now."""
    sql = sql_of(session)
    departure = Departure()
    for delivery in parcels:
        if delivery.status != OPEN:
            continue
        delivery.status = OUT
        await _save(sql, delivery)
        others = [o for o in delivery.carried if o != order.id]
        for other in await _orders(session, others):
            state = OrderState(other.status)
            if state == OrderState.PICKING:
                departure.companions.append((other, delivery))
            elif state not in RIDER_FREE_STATES:
                departure.left_behind.append((other, delivery))
    return departure


async def detach(
    session: AsyncSession,
    order: OrderRecord,
    delivery: DeliveryRecord,
    *,
    status: str,
    now: datetime,
) -> DeliveryRecord:
    """Move the order's units out of `delivery` into a new parcel of its own (no rider yet)."""
    sql = sql_of(session)
    units = await sql.all(UNITS_OF, {"delivery_id": delivery.id, "order_id": order.id})
    values: dict[str, Any] = {
        "warehouse_id": delivery.warehouse_id,
        "status": status,
        "merge_key": delivery.merge_key if status == OPEN else None,
        "rider_id": None,
        "weight_g": sum(weight for _line, _qty, weight, _cold in units),
        "cold_weight_g": sum(weight for _line, _qty, weight, cold in units if cold),
        "opened_at": now,
        "closed_at": None,
    }
    row = await sql.one(INSERT, values)
    assert row is not None
    alone = DeliveryRecord.of_row((int(row[0]), *values.values()), (order.id,))
    await sql.many(
        INSERT_UNITS,
        [
            {
                "delivery_id": alone.id,
                "order_id": order.id,
                "line": line,
                "quantity": quantity,
                "weight_g": weight,
                "cold_chain": bool(cold),
            }
            for line, quantity, weight, cold in units
        ],
    )
    await _drop_units(sql, delivery, order.id)
    return alone


async def release(
    session: AsyncSession, order: OrderRecord, *, leaving: bool, now: datetime
) -> None:
    """The order is off its riders' hands (signed, returned, claimed) or, `leaving`, cancelled
    and out of its parcels: each parcel with nothing else still carried is done, and its
    rider's slot free."""
    sql = sql_of(session)
    for delivery in await of_order(session, order.id):
        if delivery.status == DONE:
            continue
        if leaving:
            await _drop_units(sql, delivery, order.id)
        others = [o for o in delivery.carried if o != order.id]
        carried = [
            o
            for o in await _orders(session, others)
            if OrderState(o.status) not in RIDER_FREE_STATES
        ]
        if carried:
            continue
        delivery.status = DONE
        delivery.closed_at = now
        await _save(sql, delivery)
        if delivery.rider_id is not None:
            await riders.free_slot(session, delivery.rider_id)


async def _drop_units(sql: Sql, delivery: DeliveryRecord, order_id: int) -> None:
    await sql.run(DROP_UNITS, {"delivery_id": delivery.id, "order_id": order_id})
    row = await sql.one(WEIGHT, {"delivery_id": delivery.id})
    assert row is not None
    delivery.weight_g, delivery.cold_weight_g = int(row[0]), int(row[1])
    await _save(sql, delivery)


# --- Telling it ---------------------------------------------------------------------------------


async def _event(
    session: AsyncSession,
    order: OrderRecord,
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
    order: OrderRecord,
    *,
    actor: Principal,
    now: datetime,
    action: str,
    delivery: DeliveryRecord,
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
