"""Orders as the write path reads and changes them: plain records, loaded and saved with
written-out SQL (`backend/sql.py`).

An `OrderRecord` has the columns of `OrderRow` (same names, so `order_view` and the lifecycle
read either) and its lines. Assigning an attribute marks the column changed; `save` writes the
changed columns in one UPDATE. The ORM's unit of work, identity map and relationship loading
cost more per transition than everything else the write path does (`bench/README.md`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from backend.auth.principal import Principal
from backend.crypto.cipher import active
from backend.errors import NotFound
from backend.orders.scope import order_in_scope
from backend.sql import Query, Row, Sql, save_changed, when


@dataclass(slots=True, eq=False)
class ItemRecord:
    """One line of an order, with the catalogue facts copied at ordering time."""

    line: int
    sku: str
    name: str
    quantity: int
    unit: str
    weight_g: int
    cold_chain: bool
    unit_price_cents: int


@dataclass(slots=True, eq=False)
class OrderRecord:
    """One order and its lines; assigning a column marks it for `save`."""

    id: int
    channel: str
    external_id: str
    customer_id: int
    customer_name: str
    customer_phone: str
    address: str
    lat: float
    lng: float
    zone: str
    warehouse_id: str
    rider_id: int | None
    status: str
    open_rank: int
    version: int
    stock_state: str
    amount_cents: int
    weight_g: int
    cold_chain: bool
    note: str | None
    promised_at: datetime
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    picking_at: datetime | None
    out_of_stock_at: datetime | None
    delivering_at: datetime | None
    signed_at: datetime | None
    exception_at: datetime | None
    returning_at: datetime | None
    returned_at: datetime | None
    claiming_at: datetime | None
    claim_settled_at: datetime | None
    cancelled_at: datetime | None
    items: list[ItemRecord] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _TRACKED:
            # Made field by field by __init__, `changed` comes last: nothing to mark before it.
            with contextlib.suppress(AttributeError):
                self.changed.add(name)

    @classmethod
    def of_row(cls, row: Row, items: list[ItemRecord]) -> OrderRecord:
        """From a row read with `COLUMNS`, in that order (the customer's copy as stored:
        encrypted, decrypted here)."""
        record = object.__new__(cls)
        cipher = active()
        for name, value in zip(COLUMNS, row, strict=True):
            if name in _TIMES:
                value = when(value)
            elif name == "cold_chain":
                value = bool(value)
            elif name in SEALED:
                value = cipher.decrypt(value, SEALED[name])
            object.__setattr__(record, name, value)
        object.__setattr__(record, "items", items)
        object.__setattr__(record, "changed", set())
        return record


COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(OrderRecord) if f.name not in ("items", "changed")
)
_TRACKED = frozenset(COLUMNS) - {"id"}
SEALED = {
    "customer_name": "orders.customer_name",
    "customer_phone": "orders.customer_phone",
    "address": "orders.address",
}
"""The customer's copy on the order: encrypted at rest (`backend/crypto/`), with these labels."""
_TIMES = frozenset(name for name in COLUMNS if name.endswith("_at"))
ITEM_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ItemRecord))

# The order and its lines in one statement: a row per line, the order's columns on each.
_SELECT = (
    f"SELECT {', '.join('o.' + c for c in COLUMNS)}, {', '.join('i.' + c for c in ITEM_COLUMNS)} "
    "FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE o.id = :id ORDER BY i.line"
)
LOAD = Query(_SELECT)
LOAD_LOCKED = Query(_SELECT + " FOR UPDATE OF o")
LAST_CHANGE = Query("SELECT actor, role FROM events WHERE order_id = :id ORDER BY id DESC LIMIT 1")
INSERT = Query(
    f"INSERT INTO orders ({', '.join(COLUMNS[1:])}, search_tags) "
    f"VALUES ({', '.join(':' + c for c in COLUMNS[1:])}, :search_tags) RETURNING id"
)
INSERT_ITEM = Query(
    f"INSERT INTO order_items (order_id, {', '.join(ITEM_COLUMNS)}) "
    f"VALUES (:order_id, {', '.join(':' + c for c in ITEM_COLUMNS)})"
)


async def load(sql: Sql, order_id: int, *, lock: bool = False) -> OrderRecord | None:
    """The order and its lines, or None; `lock` holds its row to the end of the transaction."""
    rows = await sql.all(LOAD_LOCKED if lock else LOAD, {"id": order_id})
    if not rows:
        return None
    width = len(COLUMNS)
    items = [_item(row[width:]) for row in rows if row[width] is not None]
    return OrderRecord.of_row(rows[0][:width], items)


async def load_in_scope(
    sql: Sql, order_id: int, principal: Principal, *, lock: bool = False
) -> OrderRecord:
    """The order if the caller may see it, else NotFound (scope never leaks existence)."""
    order = await load(sql, order_id, lock=lock)
    if order is None or not order_in_scope(principal, order):
        raise NotFound(f"no order {order_id}")
    return order


async def load_many(sql: Sql, order_ids: list[int], *, lock: bool = False) -> list[OrderRecord]:
    """Orders by id, locked in id order (so two transactions queue instead of deadlocking)."""
    found = []
    for order_id in sorted(set(order_ids)):
        order = await load(sql, order_id, lock=lock)
        if order is not None:
            found.append(order)
    return found


def _item(row: Row) -> ItemRecord:
    line, sku, name, quantity, unit, weight_g, cold_chain, price = row
    return ItemRecord(line, sku, name, quantity, unit, weight_g, bool(cold_chain), price)


async def save(sql: Sql, order: OrderRecord) -> None:
    """Write the columns assigned since the order was loaded (or last saved)."""
    if order.changed & SEALED.keys():
        raise ValueError("the customer's copy on an order changes only by erasure")
    await save_changed(sql, "orders", order)


async def insert(sql: Sql, values: dict[str, Any], items: list[ItemRecord]) -> OrderRecord:
    """A new order (every column but `id`, the customer's copy in plain text) and its lines;
    stored with that copy encrypted and the search's blind index. The record as stored."""
    cipher = active()
    stored = dict(values)
    for name, label in SEALED.items():
        stored[name] = cipher.encrypt(values[name], label)
    stored["search_tags"] = cipher.search_tags(values["customer_name"], values["customer_phone"])
    row = await sql.one(INSERT, stored)
    assert row is not None
    order_id = int(row[0])
    await sql.many(
        INSERT_ITEM,
        [{"order_id": order_id, **{c: getattr(i, c) for c in ITEM_COLUMNS}} for i in items],
    )
    return OrderRecord.of_row((order_id, *(values[c] for c in COLUMNS[1:])), items)


async def last_change(sql: Sql, order_id: int) -> tuple[str, str] | None:
    """Who changed the order last (actor, role), from its newest event."""
    row = await sql.one(LAST_CHANGE, {"id": order_id})
    return None if row is None else (row[0], row[1])
