"""Routes: the alert queue, acknowledging, snoozing, and the rules in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.requests import HTTPConnection

from backend.alerts import service
from backend.alerts.rules import RuleBook
from backend.auth.deps import CanHandleAlerts, CanReadAlerts
from backend.deps import ClockDep, DbDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend_client.models import (
    NO_CONTROL_CHARS,
    Alert,
    AlertAcknowledge,
    AlertRule,
    AlertRules,
    AlertSeverity,
    AlertSnooze,
    AlertState,
    Moment,
)

router = APIRouter(tags=["alerts"], responses=PROTECTED)

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Alert id.")]
NOT_FOUND = errors({404: "No such alert in your scope."})


async def rule_book(connection: HTTPConnection) -> RuleBook:
    """The alert rules, reloaded from their file when it changes."""
    return connection.app.state.runtime.alert_rules


RuleBookDep = Annotated[RuleBook, Depends(rule_book)]
CHANGE = {
    **NOT_FOUND,
    **TOO_LARGE,
    **errors({409: "Stale version (with the current one and who changed it), or resolved."}),
}


@router.get("/alerts", response_model=list[Alert])
async def list_alerts(
    db: DbDep,
    principal: CanReadAlerts,
    state: Annotated[
        list[AlertState] | None, Query(description="Any of these; standing ones if omitted.")
    ] = None,
    severity: AlertSeverity | None = None,
    rule: AlertRule | None = None,
    zone: Annotated[str | None, Query(max_length=60, pattern=NO_CONTROL_CHARS)] = None,
    warehouse_id: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)] = None,
    order_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    rider_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    updated_since: Annotated[
        Moment | None, Query(description="Only alerts changed at or after this time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> list[Alert]:
    """Alerts in your scope, most severe first, then the oldest first."""
    async with db.read() as session:
        rows = await service.list_alerts(
            session,
            principal,
            states=tuple(state or ()),
            severity=severity,
            rule=rule,
            zone=zone,
            warehouse_id=warehouse_id,
            order_id=order_id,
            rider_id=rider_id,
            updated_since=updated_since,
            limit=limit,
        )
        return [service.alert_view(r) for r in rows]


@router.get("/alerts/rules", response_model=AlertRules)
async def alert_rules(
    book: RuleBookDep,
    clock: ClockDep,
    _principal: CanReadAlerts,
) -> AlertRules:
    """The thresholds in force, the file they came from, and why a newer file was refused."""
    book.refresh(clock.now())
    return AlertRules(
        rules=book.as_dict(), source=str(book.path), loaded_at=book.loaded_at, error=book.error
    )


@router.get("/alerts/{alert_id}", response_model=Alert, responses=NOT_FOUND)
async def get_alert(
    alert_id: AlertId,
    db: DbDep,
    principal: CanReadAlerts,
) -> Alert:
    async with db.read() as session:
        return service.alert_view(await service.load_alert(session, alert_id, principal))


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=Alert,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def acknowledge_alert(
    alert_id: AlertId,
    body: AlertAcknowledge,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanHandleAlerts,
):
    """Take it on: who and when are recorded with the note; alerts grouped under it follow."""
    now = clock.now()

    async def act(session):
        row = await service.acknowledge(
            session, alert_id, body.version, body.note, actor=principal, now=now
        )
        return 200, service.alert_view(row)

    return await run_once(request, db, principal, now, act)


@router.post(
    "/alerts/{alert_id}/snooze",
    response_model=Alert,
    responses=CHANGE,
    openapi_extra=IDEMPOTENT,
)
async def snooze_alert(
    alert_id: AlertId,
    body: AlertSnooze,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanHandleAlerts,
):
    """Hide it for a while; it comes back then if its condition still holds."""
    now = clock.now()

    async def act(session):
        row = await service.snooze(
            session, alert_id, body.version, body.minutes, body.note, actor=principal, now=now
        )
        return 200, service.alert_view(row)

    return await run_once(request, db, principal, now, act)
