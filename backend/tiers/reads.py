"""The tiered reads the API serves: KPI windows, an archived order's timeline and track, a
rider's track over archived days. Each falls back to a plain read when no archived day is
involved, so the hot path pays one small ledger query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pyarrow.compute as pc
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.settings import Settings
from backend.tiers.session import Shadow, archived_parts, read_parts, tiered_session
from backend.tiers.store import PartitionStore, archive_root

KPI_EVENT_KINDS = ("rider.status", "rider.registered", "order.transition", "order.assigned")
"""The events the KPIs read (backend/kpi/: shifts, moves on and off the road, trouble, who
cancelled): only these are loaded for a KPI window; the equality test
(tests/backend/test_archive.py) holds the KPIs to the same figures before and after."""

KPI_UNREAD = ("customer_name", "customer_phone", "address", "search_tags", "note")
"""Order columns no KPI reads: the biggest ones, left empty in a KPI window's orders."""


def store_for(settings: Settings) -> PartitionStore:
    return PartitionStore(archive_root(settings))


@asynccontextmanager
async def kpi_session(
    db: Database,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    event_kinds: tuple[str, ...] = KPI_EVENT_KINDS,
    every_request: bool = False,
) -> AsyncIterator[AsyncSession]:
    """A session for KPI queries over [start, end): orders and events of every tier. Only
    `event_kinds` are loaded from archived days, and of their return requests the complaints
    (reasons blank), or with `every_request` all of them whole (the day report's claims)."""
    parts = await archived_parts(db, start, end)
    if not parts:
        async with db.read() as session:
            yield session
        return
    events = "kind IN (" + ", ".join(f"'{kind}'" for kind in event_kinds) + ")"
    shadows = [
        Shadow("orders", blank=KPI_UNREAD),
        Shadow("events", hot_where=events, archived=[("kind", "in", event_kinds)]),
        # The complaint KPI (backend/kpi/complaints.py) counts complaints of archived orders.
        Shadow("return_requests")
        if every_request
        else Shadow(
            "return_requests",
            hot_where="kind = 'complaint'",
            archived=[("kind", "=", "complaint")],
            blank=("reason", "decision_reason"),
        ),
    ]
    async with tiered_session(db, store_for(settings), parts, shadows) as session:
        yield session


@asynccontextmanager
async def archived_order_session(
    db: Database, settings: Settings, order_id: int
) -> AsyncIterator[AsyncSession | None]:
    """A session in which the archived order `order_id` is back with its items, events and
    its riders' fixes of its time; None if no archived part holds it."""
    store = store_for(settings)
    parts = [
        (day, part)
        for day, part in await archived_parts(db, order_id=order_id)
        if store.read(day, part, "orders", filters=[("id", "=", order_id)]).num_rows
    ]
    if not parts:
        yield None
        return
    events = read_parts(store, parts, "events", [("order_id", "=", order_id)])
    riders = [r for r in pc.unique(events.column("rider_id")).to_pylist() if r is not None]
    times = events.column("at")
    first, last = pc.min(times).as_py(), pc.max(times).as_py()
    by_order = {"order_id": order_id}
    shadows = [
        Shadow("orders", "id = :order_id", by_order, [("id", "=", order_id)]),
        Shadow("order_items", "order_id = :order_id", by_order, [("order_id", "=", order_id)]),
        Shadow("events", "order_id = :order_id", by_order, [("order_id", "=", order_id)]),
    ]
    if riders and first is not None:
        fix_parts = await archived_parts(db, first, last + timedelta(seconds=1))
        window = [("at", ">=", first), ("at", "<=", last), ("rider_id", "in", riders)]
        rider_list = ", ".join(str(int(r)) for r in riders)
        shadows.append(
            Shadow(
                "rider_positions",
                f"rider_id IN ({rider_list}) AND at >= :first AND at <= :last",
                {"first": first, "last": last},
                window,
            )
        )
        parts = sorted(set(parts) | set(fix_parts))
    async with tiered_session(db, store, parts, shadows) as session:
        yield session


@asynccontextmanager
async def rider_session(
    db: Database, settings: Settings, rider_id: int, since: datetime, until: datetime
) -> AsyncIterator[AsyncSession]:
    """A session for a rider's track over [since, until]: their fixes and events of every
    tier (the database's own session when no archived day is involved)."""
    parts = await archived_parts(db, since, until + timedelta(seconds=1))
    if not parts:
        async with db.read() as session:
            yield session
        return
    params = {"rider_id": rider_id, "since": since, "until": until}
    hot = "rider_id = :rider_id AND at >= :since AND at <= :until"
    archived: list[tuple[str, str, object]] = [
        ("rider_id", "=", rider_id),
        ("at", ">=", since),
        ("at", "<=", until),
    ]
    shadows = [
        Shadow("rider_positions", hot, params, archived),
        Shadow("events", hot, params, archived),
    ]
    async with tiered_session(db, store_for(settings), parts, shadows) as session:
        yield session
