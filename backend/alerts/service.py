"""Alerts as the desk works them: reading with scope, acknowledging, snoozing; and the
writing of every change with its event (topic `alerts`), for the engine and the desk alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.findings import Finding
from backend.alerts.models import ACTIVE, AlertRow
from backend.auth.principal import Principal
from backend.auth.redaction import sees_staff_details
from backend.errors import Conflict, NotFound, StaleVersion
from backend.orders.models import OrderRow
from backend.orders.scope import order_scope
from backend.realtime.outbox import append_event
from backend_client.models import Alert, AlertRule, AlertSeverity, AlertState, Role

SEVERITY_RANK = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}


def alert_view(row: AlertRow) -> Alert:
    """The alert as the API shows it: the row's columns by name (see `user_view`)."""
    return Alert.model_validate(row, from_attributes=True)


# --- Writing, with the event --------------------------------------------------------------------


async def announce(
    session: AsyncSession,
    row: AlertRow,
    kind: str,
    *,
    actor: Principal,
    now: datetime,
    before: str | None,
    reason: str | None = None,
) -> None:
    """Record one change of `row` (already made) in the event log: kind `alert.<kind>`."""
    row.updated_at = now
    row.changed_by, row.changed_role = actor.username, str(actor.role)
    await session.flush()
    await append_event(
        session,
        kind=f"alert.{kind}",
        actor=actor,
        at=now,
        order_id=row.order_id,
        rider_id=row.rider_id,
        warehouse_id=row.warehouse_id,
        from_state=before,
        to_state=row.state,
        reason=reason,
        payload=alert_view(row).model_dump(mode="json"),
    )


async def open_alert(
    session: AsyncSession, finding: Finding, *, actor: Principal, now: datetime
) -> AlertRow:
    row = AlertRow(
        rule=str(finding.rule),
        subject=finding.subject,
        severity=str(finding.severity),
        state=AlertState.OPEN,
        title=finding.title,
        details=dict(finding.details),
        order_id=finding.order_id,
        rider_id=finding.rider_id,
        request_id=finding.request_id,
        warehouse_id=finding.warehouse_id,
        zone=finding.zone,
        opened_at=now,
        updated_at=now,
        attention_since=now,
        version=1,
    )
    session.add(row)
    await announce(session, row, "opened", actor=actor, now=now, before=None)
    return row


# --- Reading ------------------------------------------------------------------------------------


def alert_scope(principal: Principal) -> ColumnElement[bool]:
    """Merchants see their warehouse's alerts; desk roles see all; an account seeing some
    order states only, alerts about orders in other states not."""
    clause: ColumnElement[bool] = AlertRow.id.is_not(None)
    if principal.role == Role.MERCHANT:
        clause = AlertRow.warehouse_id == principal.warehouse_id
    if principal.stages is not None:
        # An alert about an order: only while the order is in a state the account sees.
        visible = select(OrderRow.id).where(order_scope(principal))
        clause = and_(clause, or_(AlertRow.order_id.is_(None), AlertRow.order_id.in_(visible)))
    return clause


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    *,
    states: tuple[AlertState, ...] = (),
    severity: AlertSeverity | None = None,
    rule: AlertRule | None = None,
    zone: str | None = None,
    warehouse_id: str | None = None,
    order_id: int | None = None,
    rider_id: int | None = None,
    updated_since: datetime | None = None,
    limit: int = 500,
) -> list[AlertRow]:
    """Alerts in scope, most severe first, then oldest first; standing ones unless told."""
    query = select(AlertRow).where(alert_scope(principal))
    query = query.where(AlertRow.state.in_([str(s) for s in states] or ACTIVE))
    for column, value in (
        (AlertRow.severity, severity),
        (AlertRow.rule, rule),
        (AlertRow.zone, zone),
        (AlertRow.warehouse_id, warehouse_id),
        (AlertRow.order_id, order_id),
        (AlertRow.rider_id, rider_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if updated_since is not None:
        query = query.where(AlertRow.updated_at >= updated_since)
    rank = case(*((AlertRow.severity == str(s), n) for s, n in SEVERITY_RANK.items()), else_=3)
    query = query.order_by(rank, AlertRow.opened_at, AlertRow.id).limit(limit)
    return list((await session.scalars(query)).all())


async def load_alert(
    session: AsyncSession, alert_id: int, principal: Principal, *, for_update: bool = False
) -> AlertRow:
    query = select(AlertRow).where(AlertRow.id == alert_id, alert_scope(principal))
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row


# --- The desk's actions -------------------------------------------------------------------------


async def _check_version(row: AlertRow, version: int, viewer: Principal) -> None:
    if version == row.version:
        return
    changed_by = row.changed_by if sees_staff_details(viewer) else row.changed_role
    raise StaleVersion(
        f"alert {row.id} is at version {row.version}, not {version}; last changed by {changed_by}",
        current_version=row.version,
        changed_by=changed_by,
    )


async def _children(session: AsyncSession, row: AlertRow) -> list[AlertRow]:
    return list(
        (
            await session.scalars(
                select(AlertRow)
                .where(AlertRow.parent_id == row.id, AlertRow.state.in_(ACTIVE))
                .order_by(AlertRow.id)
                .with_for_update()
            )
        ).all()
    )


async def acknowledge(
    session: AsyncSession,
    alert_id: int,
    version: int,
    note: str | None,
    *,
    actor: Principal,
    now: datetime,
) -> AlertRow:
    """Someone has it: who, when, and a note. Its grouped alerts are acknowledged with it."""
    row = await load_alert(session, alert_id, actor, for_update=True)
    await _check_version(row, version, actor)
    if row.state == AlertState.RESOLVED:
        raise Conflict(f"alert {row.id} is already resolved ({row.resolution})")
    if row.state == AlertState.ACKNOWLEDGED:
        raise Conflict(f"alert {row.id} was already acknowledged by {row.acknowledged_by}")
    for alert in [row, *await _children(session, row)]:
        if alert.state == AlertState.ACKNOWLEDGED:
            continue
        before = alert.state
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at, alert.note = actor.username, now, note
        alert.snoozed_until = None
        alert.version += 1
        why = note if alert is row else f"with alert {row.id}" + (f": {note}" if note else "")
        await announce(
            session, alert, "acknowledged", actor=actor, now=now, before=before, reason=why
        )
    return row


async def snooze(
    session: AsyncSession,
    alert_id: int,
    version: int,
    minutes: int,
    note: str | None,
    *,
    actor: Principal,
    now: datetime,
) -> AlertRow:
    """Out of the queue until the time is up; back then if its condition still holds."""
    row = await load_alert(session, alert_id, actor, for_update=True)
    await _check_version(row, version, actor)
    if row.state == AlertState.RESOLVED:
        raise Conflict(f"alert {row.id} is already resolved ({row.resolution})")
    until = now + timedelta(minutes=minutes)
    for alert in [row, *await _children(session, row)]:
        before = alert.state
        alert.state, alert.snoozed_until = AlertState.SNOOZED, until
        alert.note = note or alert.note
        alert.version += 1
        why = f"snoozed for {minutes} min" + (f": {note}" if note else "")
        await announce(session, alert, "snoozed", actor=actor, now=now, before=before, reason=why)
    return row


RESOLVED_BY_RESUME = (AlertRule.DELIVERY_EXCEPTION,)
"""The alerts an order's incident stands as, resolved when the desk ends it in one step."""


async def resolve_incident(
    session: AsyncSession, order_id: int, *, actor: Principal, now: datetime, resolution: str
) -> list[AlertRow]:
    """The order's incident is handled (reassigned and resumed): its alert is resolved now, by
    who handled it and how, not at the engine's next pass as "the condition cleared"."""
    rows = (
        await session.scalars(
            select(AlertRow)
            .where(
                AlertRow.order_id == order_id,
                AlertRow.rule.in_([str(r) for r in RESOLVED_BY_RESUME]),
                AlertRow.state.in_(ACTIVE),
            )
            .order_by(AlertRow.id)
            .with_for_update()
        )
    ).all()
    for row in rows:
        before = row.state
        row.state, row.resolved_at, row.resolution = AlertState.RESOLVED, now, resolution[:300]
        row.snoozed_until = None
        row.version += 1
        await announce(
            session, row, "resolved", actor=actor, now=now, before=before, reason=resolution
        )
    return list(rows)
