"""The sender: delivers queued notifications through the configured notifier, exactly once.

A pass claims the due rows (pending, their next attempt due, no live lease) with a lease in a
short transaction of its own, `FOR UPDATE SKIP LOCKED` on PostgreSQL so instances side by side
never claim the same row; sends each outside any transaction; and marks it sent, or schedules
the next attempt by the shared backoff (`backend/outbound/backoff.py`), or parks it after
`max_attempts` (the desk sees it: `GET /notifications`). A row is claimed only while no older
row of its order is still pending, so an order's messages arrive in the order they were
decided. Nothing lives only in memory: a restarted sender picks the pending rows up again,
and a lease left by an instance that died runs out and the row is claimed again. A message
whose answer was lost may so reach the gateway twice, with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.notifications.messages import with_link
from backend.notifications.models import PARKED, PENDING, SENT, NotificationRow
from backend.notifications.notifiers import Notifier, NotifierError, NotifierRefused, Outgoing
from backend.orders.models import CustomerRow, OrderRow
from backend.outbound.backoff import Backoff
from backend_client import wait_event

log = logging.getLogger(__name__)

BATCH = 50
"""Rows claimed per pass."""


@dataclass(frozen=True, slots=True)
class Attempts:
    """How hard the sender tries."""

    backoff: Backoff = field(default_factory=Backoff)
    max_attempts: int = 10
    """Failed attempts before a row is parked."""
    lease: timedelta = timedelta(seconds=60)
    """How long a claim holds: longer than a send may take (the notifier's timeout)."""
    poll_seconds: float = 1.0
    """How often an idle sender looks for due rows (a retry coming due; another instance's)."""


LinkOf = Callable[[AsyncSession, int], Awaitable[str | None]]
"""An order's tracking link, read in the sender's transaction (wired by the app: the
tracking package sits above this one)."""


class NotificationSender(BackgroundLoop):
    """Sends what the notification engine queued (see the module's docstring)."""

    name = "notification-sender"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        attempts: Attempts | None = None,
        *,
        rng: random.Random | None = None,
        link_of: LinkOf | None = None,
    ) -> None:
        super().__init__()
        self.db, self.clock, self.notifier = db, clock, notifier
        self.link_of = link_of
        """The customer's tracking link of an order, put into its message as it is sent."""
        self.attempts = attempts or Attempts()
        self.rng = rng
        self.owner = uuid.uuid4().hex[:16]
        """This sender's name on its leases."""
        self._wake = asyncio.Event()
        self._oldest_taken: datetime | None = None
        """When the oldest message of the last pass was queued (None: nothing was due)."""

    def lag_seconds(self) -> float:
        """How long the oldest message of the last pass had waited for it (0: nothing was
        due): the metrics' `freshline_lag_seconds{source="notifications"}`."""
        if self._oldest_taken is None:
            return 0.0
        return max(0.0, (self.clock.now() - self._oldest_taken).total_seconds())

    def wake(self) -> None:
        """Something was queued: look now."""
        self._wake.set()

    async def stop(self) -> None:
        await super().stop()
        await self.notifier.close()

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.send_due()
            except Exception:  # an outage must not end the sending; the next pass retries
                log.exception("notification sending failed")
                handled = 0
            if handled < BATCH:  # a full batch: more may be due at once
                await wait_event(self._wake, self.attempts.poll_seconds)
                self._wake.clear()

    async def send_due(self) -> int:
        """Claim the due rows and try each once; how many were tried."""
        now = self.clock.now()
        claimed = await self.db.write(lambda session: self._claim(session, now))
        queued = [m.created_at for m in claimed if isinstance(m, Outgoing)]
        self._oldest_taken = min(queued) if queued else None
        for message in claimed:
            await self._deliver(message)
        return len(claimed)

    async def _claim(self, session: AsyncSession, now: datetime) -> list[Outgoing | int]:
        """Lease the due rows, oldest first, the first pending of each order only; each as its
        message, or as its bare id when there is nobody left to tell (an erased customer)."""
        earlier = aliased(NotificationRow)
        query = (
            select(NotificationRow.id)
            .where(
                NotificationRow.status == PENDING,
                NotificationRow.next_attempt_at <= now,
                or_(NotificationRow.lease_until.is_(None), NotificationRow.lease_until < now),
                ~exists().where(
                    earlier.order_id == NotificationRow.order_id,
                    earlier.id < NotificationRow.id,
                    earlier.status == PENDING,
                ),
            )
            .order_by(NotificationRow.id)
            .limit(BATCH)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=NotificationRow)
        ids = list((await session.scalars(query)).all())
        if not ids:
            return []
        await session.execute(
            update(NotificationRow)
            .where(NotificationRow.id.in_(ids))
            .values(lease_until=now + self.attempts.lease, lease_owner=self.owner)
        )
        rows = await session.execute(
            select(
                NotificationRow.id,
                NotificationRow.order_id,
                NotificationRow.rule,
                NotificationRow.message,
                NotificationRow.created_at,
                OrderRow.external_id,
                OrderRow.customer_phone,
                CustomerRow.erased_at,
            )
            .join(OrderRow, OrderRow.id == NotificationRow.order_id)
            .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
            .where(NotificationRow.id.in_(ids))
            .order_by(NotificationRow.id)
        )
        claimed: list[Outgoing | int] = []
        for row_id, order_id, rule, text, created_at, reference, phone, erased_at in rows:
            if erased_at is not None:
                claimed.append(row_id)
                continue
            link = await self.link_of(session, order_id) if self.link_of is not None else None
            text = with_link(text, link)
            claimed.append(Outgoing(row_id, order_id, reference, rule, text, phone, created_at))
        return claimed

    async def _deliver(self, message: Outgoing | int) -> None:
        if isinstance(message, int):
            await self._settle(message, failed=True, error="the customer was erased", park=True)
            return
        try:
            await self.notifier.send(message)
        except NotifierRefused as exc:
            await self._settle(message.id, failed=True, error=str(exc), park=True)
        except NotifierError as exc:
            await self._settle(message.id, failed=True, error=str(exc), park=False)
        else:
            await self._settle(message.id, failed=False, error=None, park=False)

    async def _settle(self, row_id: int, *, failed: bool, error: str | None, park: bool) -> None:
        """Record the attempt, if the lease is still ours (else another sender has the row)."""
        now = self.clock.now()

        async def record(session: AsyncSession) -> None:
            row = await session.get(NotificationRow, row_id, with_for_update=True)
            if row is None or row.lease_owner != self.owner or row.status != PENDING:
                return
            row.lease_until = row.lease_owner = None
            if not failed:
                row.status, row.sent_at, row.notifier = SENT, now, self.notifier.name
                row.attempts += 1
                return
            row.attempts += 1
            row.last_error = (error or "failed")[:300]
            if park or row.attempts >= self.attempts.max_attempts:
                row.status = PARKED
                log.warning(
                    "notification %d of order %d parked after %d attempt(s): %s",
                    row.id,
                    row.order_id,
                    row.attempts,
                    row.last_error,
                )
                return
            wait = self.attempts.backoff.delay(row.attempts, self.rng)
            row.next_attempt_at = now + timedelta(seconds=wait)

        await self.db.write(record)
