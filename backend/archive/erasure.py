"""A customer's erasure reaching the archive: their archived orders' copies of name, phone and
address replaced as in the database (`backend/privacy/erasure.py`), never decrypted onto disk.

The erasure's transaction records the customer in `archive_erasures`
(`backend/tiers/erasures.py`); the backend's archive schedule (within a minute) or the next
archive run then rewrites every archived part holding their orders: the orders (pseudonym,
emptied phone, "erased" address, the point rounded to about a kilometre, no search tags), the
events, returns and claims and channel receipts that quoted them, and the fixes near their door
blurred to about 100 m, each part rewritten crash-safely (`rewrite.py`); the customer is marked
done only once every part is rewritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.archive.rewrite import rewrite_part
from backend.crypto.cipher import PREFIX, active
from backend.db import Database
from backend.privacy.erasure import (
    COORDINATE_DECIMALS,
    DOORSTEP_DECIMALS,
    DOORSTEP_DEGREES,
    ERASED_ADDRESS,
    ERASED_PHONE,
    Scrubber,
    pseudonym,
)
from backend.tiers.models import ArchiveDayRow, ArchiveErasureRow
from backend.tiers.store import PartitionStore
from backend.tiers.tables import FIXES, schema

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Doorstep:
    """Where one of the customer's orders was carried to, by whom and when."""

    rider_id: int
    start: datetime
    end: datetime
    lat: float
    lng: float


async def apply_pending(db: Database, store: PartitionStore, *, now: datetime) -> int:
    """Rewrite the archived parts of every customer still owed an erasure; how many."""
    async with db.read() as session:
        pending = list(
            await session.scalars(
                select(ArchiveErasureRow.customer_id).where(ArchiveErasureRow.done_at.is_(None))
            )
        )
        parts = [
            (day, part, dict(checksums))
            for day, part, checksums in await session.execute(
                select(ArchiveDayRow.day, ArchiveDayRow.part, ArchiveDayRow.checksums).where(
                    ArchiveDayRow.state.in_(("written", "archived"))
                )
            )
        ]
    for customer_id in pending:
        await _erase(db, store, customer_id, parts)

        async def done(session: AsyncSession, customer_id: int = customer_id) -> None:
            await session.execute(
                update(ArchiveErasureRow)
                .where(ArchiveErasureRow.customer_id == customer_id)
                .values(done_at=now)
            )

        await db.write(done)
    return len(pending)


async def _erase(
    db: Database,
    store: PartitionStore,
    customer_id: int,
    parts: Sequence[tuple[date, int, dict[str, str]]],
) -> None:
    holding = []
    orders: list[dict[str, Any]] = []
    for day, part, _sums in parts:
        found = store.read(day, part, "orders", filters=[("customer_id", "=", customer_id)])
        if found.num_rows:
            holding.append((day, part))
            orders += found.to_pylist()
    if not orders:
        return
    scrub, doorsteps = _scrubber(customer_id, orders)
    ids = {o["id"] for o in orders}
    for day, part, _sums in parts:
        changed: dict[str, pa.Table] = {}
        if (day, part) in holding:
            changed.update(_rewrite_trail(store, day, part, ids, scrub))
        fixes = _blur(store.read(day, part, FIXES.name), doorsteps)
        if fixes is not None:
            changed[FIXES.name] = fixes
        if not changed:
            continue
        await rewrite_part(db, store, day, part, changed)
    log.info("erased customer %d in %d archived part(s)", customer_id, len(holding))


def _scrubber(customer_id: int, orders: list[dict[str, Any]]) -> tuple[Scrubber, list[Doorstep]]:
    cipher = active()
    name = pseudonym(customer_id)
    replacements: dict[str, str] = {}
    phones: set[str] = set()
    doorsteps = []
    for order in orders:
        plain_name = cipher.decrypt(order["customer_name"], "orders.customer_name")
        plain_phone = cipher.decrypt(order["customer_phone"], "orders.customer_phone")
        plain_address = cipher.decrypt(order["address"], "orders.address")
        replacements.update({plain_name: name, plain_address: ERASED_ADDRESS})
        if plain_phone:
            phones.add(plain_phone)
        if order["rider_id"] is not None and order["delivering_at"] is not None:
            ended = (
                order["signed_at"]
                or order["exception_at"]
                or order["cancelled_at"]
                or order["updated_at"]
            )
            doorsteps.append(
                Doorstep(
                    order["rider_id"], order["delivering_at"], ended, order["lat"], order["lng"]
                )
            )
    replacements.update(dict.fromkeys(phones, "(erased phone)"))
    return Scrubber(replacements, exact=dict.fromkeys(phones, ERASED_PHONE)), doorsteps


def _rewrite_trail(
    store: PartitionStore, day: date, part: int, ids: set[int], scrub: Scrubber
) -> dict[str, pa.Table]:
    cipher = active()
    changed: dict[str, pa.Table] = {}
    orders = store.read(day, part, "orders").to_pylist()
    name_of = {o["id"]: o["customer_id"] for o in orders}
    for order in orders:
        if order["id"] not in ids:
            continue
        order["customer_name"] = cipher.encrypt(
            pseudonym(name_of[order["id"]]), "orders.customer_name"
        )
        order["customer_phone"] = cipher.encrypt(ERASED_PHONE, "orders.customer_phone")
        order["address"] = cipher.encrypt(ERASED_ADDRESS, "orders.address")
        order["search_tags"] = ""
        order["lat"] = round(order["lat"], COORDINATE_DECIMALS)
        order["lng"] = round(order["lng"], COORDINATE_DECIMALS)
    changed["orders"] = pa.Table.from_pylist(orders, schema=schema("orders"))

    def texts(name: str, link: str, fields: tuple[str, ...], json_fields: tuple[str, ...]) -> None:
        rows = store.read(day, part, name).to_pylist()
        touched = False
        for row in rows:
            if row[link] not in ids:
                continue
            for field in fields:
                if row[field] and scrub.found_in(row[field]):
                    row[field] = scrub.text(row[field])
                    touched = True
            for field in json_fields:
                if row[field] is None:
                    continue
                value = json.loads(row[field])
                cleaned = scrub.json(value)
                if cleaned != value:
                    row[field] = json.dumps(cleaned)
                    touched = True
        if touched:
            changed[name] = pa.Table.from_pylist(rows, schema=schema(name))

    texts("events", "order_id", ("reason",), ("payload",))
    texts("return_requests", "order_id", ("reason", "decision_reason"), ("items",))
    receipts = store.read(day, part, "channel_orders").to_pylist()
    touched = False
    for row in receipts:
        stored = json.loads(row["response"]) if row["order_id"] in ids and row["response"] else None
        if not isinstance(stored, str):
            continue  # pruned, or not one of theirs
        label = "channel_orders.response"
        text = cipher.decrypt(stored, label) if stored.startswith(PREFIX) else stored
        if scrub.found_in(text):
            cleaned = orjson.dumps(scrub.json(orjson.loads(text))).decode()
            row["response"] = json.dumps(cipher.encrypt(cleaned, label))
            touched = True
    if touched:
        changed["channel_orders"] = pa.Table.from_pylist(receipts, schema=schema("channel_orders"))
    return changed


def _blur(fixes: pa.Table, doorsteps: list[Doorstep]) -> pa.Table | None:
    """The fixes near any doorstep, rounded to about 100 m; None if there is none."""
    if not fixes.num_rows or not doorsteps:
        return None
    near = pa.array([False] * fixes.num_rows)
    lat, lng = fixes.column("lat"), fixes.column("lng")
    for d in doorsteps:
        mask = pc.and_(
            pc.and_(
                pc.equal(fixes.column("rider_id"), d.rider_id),
                pc.and_(
                    pc.greater_equal(
                        fixes.column("at"), pa.scalar(d.start, fixes.schema.field("at").type)
                    ),
                    pc.less_equal(
                        fixes.column("at"), pa.scalar(d.end, fixes.schema.field("at").type)
                    ),
                ),
            ),
            pc.and_(
                pc.less_equal(pc.abs(pc.subtract(lat, d.lat)), DOORSTEP_DEGREES),
                pc.less_equal(pc.abs(pc.subtract(lng, d.lng)), DOORSTEP_DEGREES),
            ),
        )
        near = pc.or_(near, pc.fill_null(mask, False))
    rounded_lat = pc.round(lat, DOORSTEP_DECIMALS)
    rounded_lng = pc.round(lng, DOORSTEP_DECIMALS)
    new_lat = pc.if_else(near, rounded_lat, lat)
    new_lng = pc.if_else(near, rounded_lng, lng)
    if new_lat.equals(lat) and new_lng.equals(lng):
        return None
    index = fixes.schema.get_field_index
    fixes = fixes.set_column(index("lat"), "lat", new_lat)
    return fixes.set_column(index("lng"), "lng", new_lng)
