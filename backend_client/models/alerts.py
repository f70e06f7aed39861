"""Alerts (docs/orders.md, "Alerts"): what the rules found, and what the desk does about it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
)

from backend_client.models.common import Reason, Request, Response, Version


class AlertSeverity(StrEnum):
    """How urgent an alert is; the queue sorts by this first."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class AlertState(StrEnum):
    """open -> acknowledged -> resolved; snoozed hides an alert until its time is up."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class AlertRule(StrEnum):
    """What raised an alert; thresholds live in the rules file (docs/orders.md, "Alerts")."""

    DELIVERY_OVERDUE = "delivery_overdue"
    PREDICTED_LATE = "predicted_late"
    RIDER_STATIONARY = "rider_stationary"
    GPS_SILENT = "gps_silent"
    OFF_ROUTE = "off_route"
    NOT_PICKED = "not_picked"
    PAYMENT_PENDING = "payment_pending"
    OUT_OF_STOCK = "out_of_stock"
    COLD_CHAIN_TEMPERATURE = "cold_chain_temperature"
    HUMIDITY = "humidity"
    DELIVERY_EXCEPTION = "delivery_exception"
    RETURN_REQUESTED = "return_requested"
    CLAIM_REQUESTED = "claim_requested"
    UNDERSTAFFED_ZONE = "understaffed_zone"
    LOW_STOCK = "low_stock"
    """A warehouse's SKUs below their threshold or about to run out (one alert per warehouse)."""
    COMPLAINT_OPENED = "complaint_opened"
    """A customer's complaint waits for support to resolve it."""


class Alert(Response):
    """One alert: a rule found a condition on one subject (an order, a rider, a request)."""

    id: int
    rule: AlertRule
    subject: str = Field(
        description='What it is about: "order:12", "rider:3", "request:7" or "warehouse:WH-CY".'
    )
    severity: AlertSeverity
    state: AlertState
    title: str
    details: dict[str, Any] = Field(description="The figures behind it (minutes late, metres...).")
    order_id: int | None
    rider_id: int | None
    request_id: int | None = Field(
        description="The return or claim request waiting for a decision."
    )
    warehouse_id: str | None
    zone: str | None
    parent_id: int | None = Field(description="The alert of the cause this one groups under.")
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None
    snoozed_until: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    version: int


class AlertAcknowledge(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 1}]})

    version: Version
    note: Reason | None = None


class AlertSnooze(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 2, "minutes": 15}]})

    version: Version
    minutes: int = Field(ge=1, le=24 * 60, description="How long to hide it (1 min to 24 h).")
    note: Reason | None = None


class AlertRules(Response):
    """The thresholds in force, where they came from, and why a newer file was not taken."""

    rules: dict[str, dict[str, Any]]
    source: str
    loaded_at: datetime
    error: str | None
