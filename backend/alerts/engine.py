"""The alert engine: evaluates the rules for what changed right after it changed, every rule
for every subject on a periodic tick (conditions that come with time: late, silent, waiting),
and writes what changed (opened, updated, escalated, resolved, back from a snooze), grouping
alerts under the alert of their cause. A burst of events costs one pass over the orders,
riders and requests they touched, not over everything.

Evaluation reads; only a pass that changes something writes, in one transaction under an
advisory lock, re-checking each alert's version, so several backend instances (or the desk
acting at the same moment) never open an alert twice or undo someone's acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts import low_stock, service
from backend.alerts.findings import EVERYTHING, RIDER_RULES, Subjects, find_all
from backend.alerts.models import ACTIVE, AlertRow
from backend.alerts.reconcile import Change, Standing, Step, reconcile
from backend.alerts.rules import RuleBook
from backend.auth.principal import system_principal
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database, lock_key
from backend.realtime.outbox import LoggedEvent
from backend_client import wait_event
from backend_client.models import AlertRule, AlertSeverity, AlertState

log = logging.getLogger(__name__)

ENGINE_LOCK = 0x46524C05
GROUPED_RULES = (AlertRule.DELIVERY_OVERDUE, AlertRule.PREDICTED_LATE)
"""Order alerts that group under their order's incident, or else their rider's alert: one
incident is one alert, and so is one silent rider."""
INCIDENT_RULES = (
    AlertRule.DELIVERY_EXCEPTION,
    AlertRule.RETURN_REQUESTED,
    AlertRule.CLAIM_REQUESTED,
)
"""An order's incident: what the desk acts on for it (resume or reassign; decide a return or
a claim). Its lateness is part of it, not another row."""
MIN_GAP_S = 0.2
"""Changes in a burst are evaluated together, at most this often."""


class AlertEngine(BackgroundLoop):
    """Runs the rules of `book` against the database, now and whenever something changes."""

    name = "alert-engine"

    def __init__(self, db: Database, clock: Clock, book: RuleBook, *, tick_seconds: float):
        super().__init__()
        self.db, self.clock, self.book, self.tick_seconds = db, clock, book, tick_seconds
        self._wake = asyncio.Event()
        self._touched: _Touched | None = _Touched()
        """What events touched since the last pass; None: look at everything."""
        self.timed: list[Callable[[float], None]] = []
        """Told how many seconds each pass of the loop took (the metrics)."""

    # --- running --------------------------------------------------------------------------

    def heard(self, rows: list[LoggedEvent]) -> None:
        """Told of newly numbered events (`Database.committed`): a change that is not our own
        may change what the rules find, for the orders, riders and requests it is about."""
        touched = False
        for row in rows:
            if row.kind.startswith("alert."):
                continue
            touched = True
            if self._touched is not None:
                self._touched.add(row)
        if touched:
            self._wake.set()

    def pending(self) -> Subjects:
        """What the next pass after events will look at."""
        return EVERYTHING if self._touched is None else self._touched.subjects()

    def wake(self) -> None:
        """Evaluate everything soon: something the rules read changed without an event."""
        self._touched = None
        self._wake.set()

    async def _run(self) -> None:
        due = asyncio.get_running_loop().time() + self.tick_seconds
        while True:
            loop = asyncio.get_running_loop()
            woken = await wait_event(self._wake, max(0.0, due - loop.time()))
            self._wake.clear()
            touched, self._touched = self._touched, _Touched()
            if not woken or loop.time() >= due or touched is None:
                subjects = EVERYTHING  # the tick: conditions that come with time
                due = loop.time() + self.tick_seconds
            else:
                subjects = touched.subjects()
            started = time.perf_counter()
            try:
                if changed := await self.evaluate(subjects):
                    log.info("alert engine: %d change(s)", changed)
            except Exception:  # an outage must not end the watching; the next pass retries
                log.exception("alert evaluation failed")
            for listener in self.timed:
                listener(time.perf_counter() - started)
            await asyncio.sleep(MIN_GAP_S)

    # --- one pass -------------------------------------------------------------------------

    async def evaluate(self, subjects: Subjects = EVERYTHING) -> int:
        """Evaluate every rule once for `subjects` and write what changed; returns how many
        changes."""
        now = self.clock.now()
        self.book.refresh(now)
        rules = self.book.rules
        async with self.db.read() as session:
            findings = await find_all(session, rules, now, subjects)
            findings.update(await low_stock.find(session, rules, now, subjects))
            standing = [
                _standing(row)
                for row in await _standing_rows(session)
                if subjects.covers(row.subject)
            ]
        changes = reconcile(standing, findings, rules, now)
        if not changes:
            return 0

        async def apply(session: AsyncSession) -> int:
            await lock_key(session, ENGINE_LOCK, "alert-engine")
            done = 0
            for change in changes:
                done += await self._apply(session, change, now)
            return done + await _regroup(session, now)

        return await self.db.write(apply)

    async def _apply(self, session: AsyncSession, change: Change, now: datetime) -> int:
        system = system_principal()
        finding = change.finding
        if change.step == Step.OPEN:
            assert finding is not None
            taken = await session.scalar(
                select(AlertRow.id).where(
                    AlertRow.rule == str(finding.rule),
                    AlertRow.subject == finding.subject,
                    AlertRow.state.in_(ACTIVE),
                )
            )
            if taken is not None:
                return 0  # opened meanwhile (another instance)
            await service.open_alert(session, finding, actor=system, now=now)
            return 1
        row = await session.get(AlertRow, change.alert_id, with_for_update=True)
        if row is None or row.version != change.version or row.state == AlertState.RESOLVED:
            return 0  # someone acted on it since: the next pass sees it as it is now
        before = row.state
        row.version += 1
        reason = None
        match change.step:
            case Step.RESOLVE:
                row.state, row.resolved_at = AlertState.RESOLVED, now
                row.resolution = reason = "the condition cleared"
            case Step.UPDATE:
                assert finding is not None
                turns_critical = row.severity != AlertSeverity.CRITICAL
                if finding.severity == AlertSeverity.CRITICAL and turns_critical:
                    row.attention_since, row.escalated_at = now, None  # critical from now
                reason = _what_changed(row, finding)
                row.severity, row.title, row.details = (
                    str(finding.severity),
                    finding.title,
                    dict(finding.details),
                )
                row.rider_id, row.zone = finding.rider_id, finding.zone
            case Step.WAKE:
                row.state, row.snoozed_until, row.attention_since = AlertState.OPEN, None, now
                reason = "the snooze is over and the condition still holds"
            case Step.ESCALATE:
                row.escalated_at = now
                minutes = self.book.rules.escalation.after_minutes
                reason = f"critical and unacknowledged for {minutes:g} min"
        await service.announce(
            session, row, change.step.value, actor=system, now=now, before=before, reason=reason
        )
        return 1


class _Touched:
    """The orders, riders and requests events were about, gathered between passes."""

    def __init__(self) -> None:
        self.orders: set[int] = set()
        self.riders: set[int] = set()
        self.requests: set[int] = set()
        self.warehouses: set[str] = set()

    def add(self, event: LoggedEvent) -> None:
        if event.order_id is not None:
            self.orders.add(event.order_id)
        if event.rider_id is not None:
            self.riders.add(event.rider_id)
        payload = event.payload
        if event.kind.startswith("request.") and isinstance(payload.get("id"), int):
            self.requests.add(payload["id"])
        if event.warehouse_id is not None and low_stock.moves_stock(event.kind, payload):
            self.warehouses.add(event.warehouse_id)
        # A reassignment changes both riders' loads and what they carry.
        for key in ("from_rider", "to_rider"):
            if isinstance(payload.get(key), int):
                self.riders.add(payload[key])

    def subjects(self) -> Subjects:
        return Subjects(
            frozenset(self.orders),
            frozenset(self.riders),
            frozenset(self.requests),
            frozenset(self.warehouses),
        )


async def _standing_rows(session: AsyncSession) -> list[AlertRow]:
    return list((await session.scalars(select(AlertRow).where(AlertRow.state.in_(ACTIVE)))).all())


def _standing(row: AlertRow) -> Standing:
    return Standing(
        id=row.id,
        rule=row.rule,
        subject=row.subject,
        severity=row.severity,
        state=row.state,
        title=row.title,
        rider_id=row.rider_id,
        version=row.version,
        attention_since=row.attention_since,
        snoozed_until=row.snoozed_until,
        escalated_at=row.escalated_at,
        parent_id=row.parent_id,
    )


def _what_changed(row: AlertRow, finding) -> str:
    if str(finding.severity) != row.severity:
        return f"severity {row.severity} -> {finding.severity}"
    if finding.rider_id != row.rider_id:
        return f"rider {row.rider_id} -> {finding.rider_id}"
    return "the situation changed"


async def _regroup(session: AsyncSession, now: datetime) -> int:
    """Put each order alert under its order's incident alert, or else its rider's alert, while
    that stands, and take it out after."""
    rows = list(
        (
            await session.scalars(
                select(AlertRow)
                .where(AlertRow.state.in_(ACTIVE))
                .order_by(AlertRow.id)
                .with_for_update()
            )
        ).all()
    )
    causes: dict[int, AlertRow] = {}
    for rule in RIDER_RULES:
        for row in rows:
            if row.rule == rule and row.rider_id is not None:
                causes.setdefault(row.rider_id, row)
    incidents: dict[int, AlertRow] = {}
    for rule in INCIDENT_RULES:
        for row in rows:
            if row.rule == rule and row.order_id is not None:
                incidents.setdefault(row.order_id, row)
    moved = 0
    for row in rows:
        if row.rule not in GROUPED_RULES:
            continue
        # The order's own incident first: it is what the desk acts on for this order.
        cause = incidents.get(row.order_id) if row.order_id is not None else None
        if cause is None and row.rider_id is not None:
            cause = causes.get(row.rider_id)
        wanted = cause.id if cause is not None else None
        if row.parent_id == wanted:
            continue
        row.parent_id = wanted
        row.version += 1
        reason = f"grouped under alert {cause.id}: {cause.title}" if cause else "no longer grouped"
        await service.announce(
            session,
            row,
            "updated",
            actor=system_principal(),
            now=now,
            before=row.state,
            reason=reason,
        )
        moved += 1
    return moved
