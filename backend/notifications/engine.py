"""The notification engine: decides which customers are to be told what, and queues it.

Right after events about an order (its ETA, its transitions) it looks at those orders; on a
periodic tick at every order a time-based rule may concern (ETA close, promise passed, three
days unsigned). What it decides goes into the `notifications` table in the transaction that
decided it, one row per order and rule at most (its unique key): a second pass, a restarted
engine or another instance deciding the same finds the row there and adds nothing. Sending is
the sender's (`sender.py`), from that table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.rules import Notify, RuleBook
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.notifications.messages import render
from backend.notifications.models import PENDING, NotificationRow
from backend.notifications.triggers import (
    SURVEY_WINDOW,
    NotifyRule,
    OrderFacts,
    due,
    notice,
)
from backend.orders.models import OrderRow
from backend.realtime.outbox import LoggedEvent
from backend.riders.models import DeliveryProgressRow
from backend_client import wait_event
from backend_client.models import OrderState

log = logging.getLogger(__name__)

MIN_GAP_S = 0.2
"""Events in a burst are looked at together, at most this often."""
CHUNK = 500
"""Order ids per IN list."""


class NotificationEngine(BackgroundLoop):
    """Applies the `[notify.*]` rules of `book` to the orders, now and whenever they change."""

    name = "notification-engine"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        book: RuleBook,
        *,
        zone: ZoneInfo,
        tick_seconds: float,
        queued: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.db, self.clock, self.book, self.zone = db, clock, book, zone
        self.tick_seconds = tick_seconds
        self.queued = queued
        """Told when a pass queued messages (the sender wakes)."""
        self._wake = asyncio.Event()
        self._touched: set[int] = set()

    def heard(self, rows: list[LoggedEvent]) -> None:
        """Told of newly numbered events (`Database.committed`): orders to look at soon."""
        orders = {r.order_id for r in rows if r.order_id is not None and r.kind.startswith("order")}
        if orders:
            self._touched |= orders
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due_at = loop.time()  # a first pass over everything at once
        while True:
            woken = await wait_event(self._wake, max(0.0, due_at - loop.time()))
            self._wake.clear()
            touched, self._touched = self._touched, set()
            everything = not woken or loop.time() >= due_at
            if everything:
                due_at = loop.time() + self.tick_seconds
            try:
                if queued := await self.evaluate(None if everything else touched):
                    log.info("notifications: %d queued", queued)
            except Exception:  # an outage must not end the watching; the next pass retries
                log.exception("notification pass failed")
            await asyncio.sleep(MIN_GAP_S)

    async def evaluate(self, order_ids: Iterable[int] | None = None) -> int:
        """Queue what the rules say for `order_ids` (None: every order a rule may concern);
        how many messages were queued."""
        now = self.clock.now()
        self.book.refresh(now)
        rules = self.book.rules.notify
        async with self.db.read() as session:
            facts = await read_facts(session, rules, now, order_ids)
            told = await _told(session, [f.id for f in facts])
        decided = [
            (order, rule)
            for order in facts
            for rule in due(order, rules, now)
            if (order.id, rule.value) not in told
        ]
        if not decided:
            return 0
        rows = [_row(order, rule, rules, now, self.zone) for order, rule in decided]

        async def queue(session: AsyncSession) -> int:
            return await insert_new(session, rows)

        queued = await self.db.write(queue)
        if queued and self.queued is not None:
            self.queued()
        return queued


def _row(
    order: OrderFacts, rule: NotifyRule, rules: Notify, now: datetime, zone: ZoneInfo
) -> dict[str, object]:
    message = render(
        notice(rules, rule).message,
        reference=order.reference,
        eta=order.eta_at if order.status == OrderState.DELIVERING else None,
        promised=order.promised_at,
        zone=zone,
    )
    return {
        "order_id": order.id,
        "rule": rule.value,
        "message": message[:500],
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, object]]) -> int:
    """Insert the rows whose (order, rule) has none yet; how many were new. A row another
    pass or instance wrote first is left as it is (the unique key decides, not a lock)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for row in rows:
        statement = (
            insert(NotificationRow)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["order_id", "rule"])
        )
        result = await session.execute(statement)
        added += max(0, getattr(result, "rowcount", 0) or 0)
    return added


async def read_facts(
    session: AsyncSession, rules: Notify, now: datetime, order_ids: Iterable[int] | None
) -> list[OrderFacts]:
    """The facts of `order_ids`, or of every order a rule may concern now."""
    query = select(
        OrderRow.id,
        OrderRow.external_id,
        OrderRow.status,
        OrderRow.open_rank,
        OrderRow.promised_at,
        DeliveryProgressRow.eta_at,
        OrderRow.delivering_at,
        OrderRow.exception_at,
        OrderRow.signed_at,
    ).outerjoin(
        DeliveryProgressRow,
        and_(
            DeliveryProgressRow.order_id == OrderRow.id,
            DeliveryProgressRow.rider_id == OrderRow.rider_id,
        ),
    )
    if order_ids is None:
        batches = [await session.execute(query.where(_concerned(rules, now)))]
    else:
        ids = sorted(set(order_ids))
        batches = [
            await session.execute(query.where(OrderRow.id.in_(ids[i : i + CHUNK])))
            for i in range(0, len(ids), CHUNK)
        ]
    return [
        OrderFacts(
            id=order_id,
            reference=reference,
            status=status,
            open=open_rank == 0,
            promised_at=promised_at,
            eta_at=eta_at,
            delivering_at=delivering_at,
            exception_at=exception_at,
            signed_at=signed_at,
        )
        for batch in batches
        for (
            order_id,
            reference,
            status,
            open_rank,
            promised_at,
            eta_at,
            delivering_at,
            exception_at,
            signed_at,
        ) in batch
    ]


def _concerned(rules: Notify, now: datetime) -> ColumnElement[bool]:
    """Orders some rule may concern at `now` (a few more: `due` decides): arriving soon, past
    their promise or expected past it, and stopped, signed or long unsigned lately. Not every
    open order: the tick reads what time may have changed, not the whole board."""
    fresh = now - timedelta(minutes=rules.max_age_minutes)
    survey = now - timedelta(hours=rules.unsigned_survey.hours)
    grace = timedelta(minutes=rules.late.grace_minutes)
    delivering = OrderRow.status == OrderState.DELIVERING
    return or_(
        and_(
            delivering,
            DeliveryProgressRow.eta_at <= now + timedelta(minutes=rules.eta_soon.minutes),
        ),
        and_(OrderRow.open_rank == 0, OrderRow.promised_at < now - grace),
        # Expected past the promise (with any grace: `due` applies it).
        and_(delivering, DeliveryProgressRow.eta_at > OrderRow.promised_at),
        OrderRow.signed_at >= fresh,
        OrderRow.exception_at >= fresh,
        and_(
            OrderRow.signed_at.is_(None),
            OrderRow.delivering_at <= survey,
            OrderRow.delivering_at > survey - SURVEY_WINDOW,
        ),
    )


async def _told(session: AsyncSession, order_ids: list[int]) -> set[tuple[int, str]]:
    """The (order, rule) pairs of `order_ids` already queued."""
    ids = sorted(set(order_ids))
    told: set[tuple[int, str]] = set()
    for i in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(NotificationRow.order_id, NotificationRow.rule).where(
                NotificationRow.order_id.in_(ids[i : i + CHUNK])
            )
        )
        told.update((order_id, rule) for order_id, rule in rows)
    return told
