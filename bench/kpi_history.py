"""A month of the demo city's history written straight into a database, for the KPI benchmark.

The orders are the simulator's own plan (`backend.sim.demand.Demand`, flat at the peak rate:
channels, baskets, promises and fates), played out on paper instead of through the API: each
order's rows and its event log entries (created, paid, picking, assigned, dispatched, then
signed, refused and returned, damaged and claimed, short and restocked or cancelled, unpaid
and cancelled), and every rider's shifts as `rider.status` events. Inserted in bulk, so a
month takes seconds rather than the month it would take the simulator.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from backend.auth.passwords import Passwords
from backend.crypto.cipher import install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.db import Database
from backend.demo import seed_demo
from backend.models import (
    CustomerRow,
    EventRow,
    OrderItemRow,
    OrderRow,
    RiderRow,
    SkuRow,
    TemperatureReadingRow,
)
from backend.sim.city import demo_zones
from backend.sim.demand import Demand, Doorstep, OrderPlan

BATCH = 5000
SHIFT_BREAK = timedelta(minutes=30)
"""Every rider takes a break each day at 04:00 UTC: a status event pair per rider and day."""


@dataclass
class History:
    """Rows to insert, and counters for the report."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    readings: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, int] = field(default_factory=dict)


class Writer:
    """Plays each planned order out and collects its rows and events."""

    def __init__(self, prices: dict[str, tuple[str, int, int, bool, str]], riders: dict) -> None:
        self.prices = prices
        self.riders = riders  # warehouse id -> rider ids
        self.turn = {w: itertools.cycle(ids) for w, ids in riders.items()}
        self.history = History()
        self.seq = itertools.count(1)
        self.warehouse_of = {z.name: z.warehouse_id for z in demo_zones()}

    def event(self, at: datetime, kind: str, actor: str, role: str, **fields: Any) -> None:
        row = {
            "seq": 0,
            "kind": kind,
            "order_id": None,
            "rider_id": None,
            "warehouse_id": None,
            "from_state": None,
            "to_state": None,
            "actor": actor,
            "role": role,
            "client_addr": None,
            "at": at,
            "reason": None,
            "payload": {},
        }
        row.update(fields)
        self.history.events.append(row)

    def vehicle_readings(self, rider: int, start: datetime, ride: timedelta) -> None:
        """A reading of the rider's box a minute while out (as the simulator's vehicles); its
        own random numbers, so the orders' history is the same with or without them."""
        rng = random.Random(f"{rider}:{start.isoformat()}")
        for minute in range(int(ride.total_seconds() // 60)):
            at = start + timedelta(minutes=minute)
            self.history.readings.append(
                {
                    "order_id": None,
                    "rider_id": rider,
                    "celsius": round(rng.gauss(4.0, 0.8), 1),
                    "humidity": round(rng.gauss(88.0, 2.5), 1),
                    "at": at,
                    "received_at": at,
                }
            )

    def shifts(self, start: datetime, end: datetime) -> None:
        for warehouse, ids in self.riders.items():
            for rider in ids:
                self.event(
                    start,
                    "rider.status",
                    f"rider-{rider}",
                    "rider",
                    rider_id=rider,
                    warehouse_id=warehouse,
                    from_state="offline",
                    to_state="online",
                )
                day = start.replace(hour=4, minute=0, second=0, microsecond=0)
                while day < end:
                    if day > start:
                        for a, b, t in (
                            ("online", "break", day),
                            ("break", "online", day + SHIFT_BREAK),
                        ):
                            self.event(
                                t,
                                "rider.status",
                                f"rider-{rider}",
                                "rider",
                                rider_id=rider,
                                warehouse_id=warehouse,
                                from_state=a,
                                to_state=b,
                            )
                    day += timedelta(days=1)

    def order(self, order_id: int, plan: OrderPlan, customer_id: int) -> None:
        rng = random.Random(plan.index)
        fate = plan.fate
        warehouse = self.warehouse_of[plan.zone]
        channel = str(plan.channel)
        created = plan.at
        lines = [(sku, quantity, *self.prices[sku]) for sku, quantity in plan.items]
        row: dict[str, Any] = {
            "id": order_id,
            "channel": channel,
            "external_id": plan.external_id,
            "customer_id": customer_id,
            "customer_name": plan.customer.name,
            "customer_phone": plan.customer.phone,
            "address": plan.customer.address,
            "lat": plan.customer.lat,
            "lng": plan.customer.lng,
            "zone": plan.zone,
            "warehouse_id": warehouse,
            "rider_id": None,
            "status": "CREATED",
            "open_rank": 0,
            "version": 1,
            "stock_state": "none",
            "amount_cents": sum(q * price for _, q, _, price, _, _, _ in lines),
            "weight_g": sum(q * w for _, q, _, _, w, _, _ in lines),
            "cold_chain": any(c for *_, c, _ in lines),
            "note": None,
            "promised_at": created + timedelta(minutes=plan.promise_minutes),
            "created_at": created,
            "updated_at": created,
            **{
                f"{s}_at": None
                for s in (
                    "paid",
                    "picking",
                    "out_of_stock",
                    "delivering",
                    "signed",
                    "exception",
                    "returning",
                    "returned",
                    "claiming",
                    "claim_settled",
                    "cancelled",
                )
            },
        }
        for line, (sku, quantity, name, price, weight, cold, unit) in enumerate(lines, 1):
            self.history.items.append(
                {
                    "order_id": order_id,
                    "line": line,
                    "sku": sku,
                    "name": name,
                    "quantity": quantity,
                    "unit": unit,
                    "weight_g": weight * quantity,
                    "cold_chain": cold,
                    "unit_price_cents": price,
                }
            )
        base = {"order_id": order_id, "warehouse_id": warehouse}
        account = f"channel-{channel.replace('_', '-')}"
        self.event(
            created,
            "order.created",
            account,
            "channel",
            to_state="CREATED",
            payload={"version": 1, "channel": channel, "zone": plan.zone},
            **base,
        )

        def move(
            at: datetime,
            to: str,
            actor: str,
            role: str,
            reason: str | None = None,
            column: str | None = None,
        ) -> None:
            before = row["status"]
            row["status"], row["version"], row["updated_at"] = to, row["version"] + 1, at
            row[column or f"{to.lower()}_at"] = at
            row["open_rank"] = int(to in ("SIGNED", "RETURNED", "CLAIM_SETTLED", "CANCELLED"))
            self.event(
                at,
                "order.transition",
                actor,
                role,
                from_state=before,
                to_state=to,
                rider_id=row["rider_id"],
                reason=reason,
                payload={"version": row["version"], "channel": channel, "zone": plan.zone},
                **base,
            )

        if not fate.pays:
            move(
                created + timedelta(minutes=30),
                "CANCELLED",
                account,
                "channel",
                "payment not received within 30 minutes",
            )
            self.history.orders.append(row)
            return
        t = created + timedelta(seconds=fate.pay_after_s)
        move(t, "PAID", account, "channel")
        merchant = f"merchant-{warehouse.lower()}"
        t += timedelta(seconds=fate.picking_starts_after_s)
        move(t, "PICKING", merchant, "merchant")
        rider = next(self.turn[warehouse])
        row["rider_id"] = rider
        row["version"] += 1
        self.event(
            t,
            "order.assigned",
            "system",
            "system",
            from_state="PICKING",
            to_state="PICKING",
            rider_id=rider,
            reason="auto-dispatch",
            payload={
                "version": row["version"],
                "channel": channel,
                "zone": plan.zone,
                "from_rider": None,
                "to_rider": rider,
            },
            **base,
        )
        if fate.short_while_picking:
            t += timedelta(minutes=2)
            move(t, "OUT_OF_STOCK", merchant, "merchant", "the last units failed the check")
            if rng.random() < 0.3:
                move(
                    t + timedelta(minutes=6),
                    "CANCELLED",
                    account,
                    "channel",
                    "customer cancelled: an item was out of stock",
                )
                self.history.orders.append(row)
                return
            t += timedelta(minutes=10)
            move(t, "PICKING", merchant, "merchant")
        t += timedelta(minutes=fate.picking_minutes)
        move(t, "DELIVERING", f"rider-{rider}", "rider")
        ride = timedelta(minutes=rng.uniform(8, 25))
        self.vehicle_readings(rider, t, ride)
        if fate.accident:
            t += ride / 2
            move(t, "EXCEPTION", f"rider-{rider}", "rider", "traffic accident")
            t += timedelta(minutes=7)
            move(t, "DELIVERING", "dispatcher", "dispatcher", "rider unhurt, carrying on")
            t += ride / 2
        else:
            t += ride
        match fate.doorstep:
            case Doorstep.SIGNED:
                move(t, "SIGNED", f"rider-{rider}", "rider")
            case Doorstep.REFUSED:
                move(t, "EXCEPTION", f"rider-{rider}", "rider", "customer refused the delivery")
                move(
                    t + timedelta(minutes=3),
                    "RETURNING",
                    "support",
                    "support",
                    "customer refused the delivery",
                )
                move(t + timedelta(minutes=20), "RETURNED", merchant, "merchant")
            case Doorstep.DAMAGED:
                move(t, "EXCEPTION", f"rider-{rider}", "rider", "goods damaged")
                move(
                    t + timedelta(minutes=5),
                    "CLAIMING",
                    "support",
                    "support",
                    "goods damaged on arrival",
                )
                move(t + timedelta(minutes=25), "CLAIM_SETTLED", "support", "support")
        self.history.orders.append(row)


def plans(start: datetime, end: datetime, orders_per_hour: float, seed: int) -> Iterator[OrderPlan]:
    demand = Demand(seed, start, orders_per_hour=orders_per_hour, flat=True)
    for plan in demand:
        if plan.at >= end:
            return
        yield plan


@dataclass
class SeededHistory:
    """What `seeded_history` wrote: up to when, the rows, and how long the writing took."""

    now: datetime
    counts: dict[str, int]
    written_s: float


async def seeded_history(
    db: Database, *, days: float, orders_per_hour: float, seed: int
) -> SeededHistory:
    """Migrate `db`, seed the demo city and write `days` of history ending now (timed), under
    a fresh field key ring (riders' and customers' phones are sealed)."""
    install(parse_ring(new_ring_text(), "bench", reload=None))
    await db.migrate()
    now = datetime.now(UTC).replace(microsecond=0)
    await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=now)
    begin = time.perf_counter()
    counts = await write_history(
        db, start=now - timedelta(days=days), end=now, orders_per_hour=orders_per_hour, seed=seed
    )
    return SeededHistory(now, counts, time.perf_counter() - begin)


async def write_history(
    db: Database, *, start: datetime, end: datetime, orders_per_hour: float, seed: int
) -> dict[str, int]:
    """Fill a demo-seeded database with the history of [start, end); returns row counts."""
    async with db.read() as session:
        skus = (await session.scalars(select(SkuRow))).all()
        riders = (await session.scalars(select(RiderRow))).all()
    prices = {s.sku: (s.name, s.price_cents, s.weight_g, s.cold_chain, s.unit) for s in skus}
    by_warehouse: dict[str, list[int]] = {}
    for rider in riders:
        by_warehouse.setdefault(rider.warehouse_id, []).append(rider.id)
    writer = Writer(prices, by_warehouse)
    writer.shifts(start, end)
    customers: dict[str, dict[str, Any]] = {}
    for order_id, plan in enumerate(plans(start, end, orders_per_hour, seed), start=1):
        c = plan.customer
        if c.phone not in customers:
            customers[c.phone] = {
                "id": len(customers) + 1,
                "name": c.name,
                "phone": c.phone,
                "address": c.address,
                "lat": c.lat,
                "lng": c.lng,
            }
        writer.order(order_id, plan, customers[c.phone]["id"])
    history = writer.history
    history.events.sort(key=lambda e: e["at"])
    for seq, event in enumerate(history.events, start=1):
        event["seq"] = seq
    for table, rows in (
        (CustomerRow, list(customers.values())),
        (OrderRow, history.orders),
        (OrderItemRow, history.items),
        (EventRow, history.events),
        (TemperatureReadingRow, history.readings),
    ):
        for first in range(0, len(rows), BATCH):
            chunk = rows[first : first + BATCH]

            async def _job(session, table=table, chunk=chunk):
                await session.execute(insert(table), chunk)

            await db.write(_job)
    return {
        "orders": len(history.orders),
        "order lines": len(history.items),
        "events": len(history.events),
        "sensor readings": len(history.readings),
        "customers": len(customers),
    }
