"""`client.alerts`: the exception queue's alerts, and what the desk does about them."""

from __future__ import annotations

from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import (
    Alert,
    AlertAcknowledge,
    AlertRule,
    AlertRules,
    AlertSeverity,
    AlertSnooze,
    AlertState,
)


class Alerts(Resource):
    """Alerts: list, read, acknowledge, snooze; and the rules in force."""

    async def all(
        self,
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
        return await self._transport.call("GET", "/alerts", list[Alert], params=params)

    async def get(self, alert_id: int) -> Alert:
        return await self._transport.call("GET", f"/alerts/{alert_id}", Alert)

    async def rules(self) -> AlertRules:
        """The thresholds in force, and where they came from."""
        return await self._transport.call("GET", "/alerts/rules", AlertRules)

    async def acknowledge(
        self,
        alert_id: int,
        version: int,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Alert:
        """Take the alert on (with a note for the others), from the version you saw."""
        return await self._transport.call(
            "POST",
            f"/alerts/{alert_id}/acknowledge",
            Alert,
            json=AlertAcknowledge(version=version, note=note),
            idempotency_key=idempotency_key,
        )

    async def snooze(
        self,
        alert_id: int,
        version: int,
        minutes: int,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Alert:
        """Hide the alert for `minutes` (1 min to 24 h)."""
        return await self._transport.call(
            "POST",
            f"/alerts/{alert_id}/snooze",
            Alert,
            json=AlertSnooze(version=version, minutes=minutes, note=note),
            idempotency_key=idempotency_key,
        )
