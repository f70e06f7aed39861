"""The shift handover digest: what the next shift must know (docs/handover.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from backend_client.models.common import Response
from backend_client.models.kpi import KpiFigures


class HandoverAlert(Response):
    """A standing alert (open, acknowledged or snoozed) at the digest's end."""

    id: int
    rule: str
    severity: str
    state: str
    title: str
    subject: str
    opened_at: datetime
    acknowledged_by: str | None = None
    """Who took it on (None: nobody yet)."""
    acknowledged_at: datetime | None = None
    note: str | None = None
    order_id: int | None = None
    rider_id: int | None = None
    warehouse_id: str | None = None
    zone: str | None = None


class HandoverAcknowledgement(Response):
    """One alert acknowledged during the shift, by whom, from the event log."""

    alert_id: int
    rule: str
    severity: str
    title: str
    by: str
    role: str
    at: datetime
    note: str | None = None
    state_now: str
    """The alert's state at the digest's end (resolved once its condition cleared)."""


class HandoverRequest(Response):
    """A return, claim or exchange waiting for a decision."""

    id: int
    kind: str
    order_id: int
    warehouse_id: str
    reason: str
    amount_cents: int
    opened_by: str
    opened_at: datetime


class HandoverLateOrder(Response):
    """An order still in flight past its promise."""

    id: int
    status: str
    warehouse_id: str
    zone: str
    rider_id: int | None = None
    promised_at: datetime
    late_minutes: float
    """How long past the promise at the digest's end."""


class HandoverRider(Response):
    """A rider still carrying orders at the digest's end."""

    id: int
    name: str
    warehouse_id: str
    status: str
    order_ids: list[int]
    """The orders they carry, oldest promise first."""
    late_orders: int
    """How many of them are past their promise."""


class HandoverKpis(Response):
    """The shift's KPIs against the shift before (both from `/kpi`'s figures)."""

    this_shift: KpiFigures
    """From the shift's start to the digest's end (so far, while it is under way)."""
    previous_shift: KpiFigures
    """The whole shift before."""


class HandoverDigest(Response):
    """What the next shift must know, from the event log since the shift began."""

    start: datetime
    """Since when: the shift's start (or the `since` asked for)."""
    end: datetime
    """Until when: the server's now."""
    previous_start: datetime
    """The start of the shift before, the KPIs' comparison."""
    time_zone: str
    """The business time zone the shift boundaries are read in."""
    critical_alerts: list[HandoverAlert]
    """Standing critical alerts, oldest first."""
    warning_alerts: list[HandoverAlert]
    """Standing warnings, oldest first."""
    alerts_opened: int = Field(ge=0)
    """Alerts opened during the shift (any severity)."""
    alerts_resolved: int = Field(ge=0)
    """Alerts resolved during the shift."""
    acknowledgements: list[HandoverAcknowledgement]
    """Who acknowledged what during the shift, in order."""
    waiting_requests: list[HandoverRequest]
    """Returns, claims and exchanges waiting for a decision, oldest first."""
    riders_out: list[HandoverRider]
    """Riders still carrying orders."""
    in_flight_by_state: dict[str, int]
    """Orders still in flight (paid, not yet in a final state) by state."""
    late_orders: list[HandoverLateOrder]
    """Orders in flight past their promise, the most overdue first (at most `list_limit`)."""
    late_total: int = Field(ge=0)
    """Every late order, listed or not."""
    list_limit: int
    """The most items any list holds; counts are always whole."""
    kpis: HandoverKpis
