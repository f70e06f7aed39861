"""The desk's calls (alerts, returns and claims, handovers, sensors), mixed into
`FreshlineClient`: one method per endpoint, as in `http.py`, kept apart to keep that file small."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from backend_client.models import (
    Alert,
    AlertAcknowledge,
    AlertRule,
    AlertRules,
    AlertSeverity,
    AlertSnooze,
    AlertState,
    ClaimCreate,
    ClaimItem,
    Handover,
    HandoverOrder,
    Order,
    ReadingsResult,
    RequestDecision,
    RequestKind,
    RequestState,
    ReturnCreate,
    ReturnRequest,
    TemperatureReading,
    TemperatureReadings,
)


class _Caller(Protocol):
    # `FreshlineClient._call`'s own keywords: a `**kwargs` here is a signature it does not
    # match, and every call through a mixin method failed the type check.
    async def _call(
        self,
        method: str,
        path: str,
        answer: Any,
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> Any: ...


def query_params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones left unset."""
    return {k: v for k, v in values.items() if v is not None}


class DeskCalls:
    """Alerts, returns and claims, handovers and sensor readings."""

    # --- alerts -------------------------------------------------------------------------------

    async def alerts(
        self: _Caller,
        *,
        state: list[AlertState] | None = None,
        severity: AlertSeverity | None = None,
        rule: AlertRule | None = None,
        zone: str | None = None,
        warehouse_id: str | None = None,
        order_id: int | None = None,
        rider_id: int | None = None,
        updated_since: datetime | None = None,
        limit: int = 500,
    ) -> list[Alert]:
        params = query_params(
            state=[str(s) for s in state or []] or None,
            severity=severity and str(severity),
            rule=rule and str(rule),
            zone=zone,
            warehouse_id=warehouse_id,
            order_id=order_id,
            rider_id=rider_id,
            updated_since=updated_since and updated_since.isoformat(),
            limit=limit,
        )
        return await self._call("GET", "/alerts", list[Alert], params=params)

    async def alert(self: _Caller, alert_id: int) -> Alert:
        return await self._call("GET", f"/alerts/{alert_id}", Alert)

    async def alert_rules(self: _Caller) -> AlertRules:
        return await self._call("GET", "/alerts/rules", AlertRules)

    async def acknowledge_alert(
        self: _Caller,
        alert_id: int,
        version: int,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Alert:
        body = AlertAcknowledge(version=version, note=note)
        return await self._call(
            "POST",
            f"/alerts/{alert_id}/acknowledge",
            Alert,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def snooze_alert(
        self: _Caller,
        alert_id: int,
        version: int,
        minutes: int,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Alert:
        body = AlertSnooze(version=version, minutes=minutes, note=note)
        return await self._call(
            "POST", f"/alerts/{alert_id}/snooze", Alert, json=body, idempotency_key=idempotency_key
        )

    # --- returns and claims -------------------------------------------------------------------

    async def open_return(
        self: _Caller,
        order_id: int,
        version: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        body = ReturnCreate(version=version, reason=reason)
        return await self._call(
            "POST",
            f"/orders/{order_id}/returns",
            ReturnRequest,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def open_claim(
        self: _Caller,
        order_id: int,
        version: int,
        reason: str,
        items: list[ClaimItem],
        amount_cents: int,
        *,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        body = ClaimCreate(version=version, reason=reason, items=items, amount_cents=amount_cents)
        return await self._call(
            "POST",
            f"/orders/{order_id}/claims",
            ReturnRequest,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def requests(
        self: _Caller,
        *,
        state: RequestState | None = None,
        kind: RequestKind | None = None,
        order_id: int | None = None,
        limit: int = 200,
    ) -> list[ReturnRequest]:
        params = query_params(
            state=state and str(state), kind=kind and str(kind), order_id=order_id, limit=limit
        )
        return await self._call("GET", "/requests", list[ReturnRequest], params=params)

    async def request(self: _Caller, request_id: int) -> ReturnRequest:
        return await self._call("GET", f"/requests/{request_id}", ReturnRequest)

    async def decide_request(
        self: _Caller,
        request_id: int,
        version: int,
        *,
        approve: bool,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Approve, or reject (a reason is required then)."""
        verdict = "approve" if approve else "reject"
        return await self._call(
            "POST",
            f"/requests/{request_id}/{verdict}",
            ReturnRequest,
            json=RequestDecision(version=version, reason=reason),
            idempotency_key=idempotency_key,
        )

    async def reopen_request(
        self: _Caller,
        request_id: int,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Take a rejection back, within the backend's `decision_undo_seconds` of it: the
        request waits for a decision again. An approval cannot be taken back (409)."""
        return await self._call(
            "POST",
            f"/requests/{request_id}/reopen",
            ReturnRequest,
            json=RequestDecision(version=version, reason=reason),
            idempotency_key=idempotency_key,
        )

    # --- handovers and sensors ----------------------------------------------------------------

    async def hand_over(
        self: _Caller,
        rider_id: int,
        to_rider_id: int,
        orders: list[tuple[int, int]],
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Order]:
        """Every order `rider_id` carries, as (id, version) in their sequence, to another rider."""
        body = Handover(
            to_rider_id=to_rider_id,
            orders=[HandoverOrder(id=i, version=v) for i, v in orders],
            reason=reason,
        )
        return await self._call(
            "POST",
            f"/riders/{rider_id}/handover",
            list[Order],
            json=body,
            idempotency_key=idempotency_key,
        )

    async def send_readings(
        self: _Caller, readings: list[TemperatureReading], *, idempotency_key: str | None = None
    ) -> ReadingsResult:
        return await self._call(
            "POST",
            "/sensors/readings",
            ReadingsResult,
            json=TemperatureReadings(readings=readings),
            idempotency_key=idempotency_key,
        )
