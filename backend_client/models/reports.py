"""The day report: one business day's KPIs per channel and warehouse, alerts by rule and desk,
claims paid, each rider's on-time record and the channels' reconciliation."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from backend_client.models.common import Channel, Response
from backend_client.models.kpi import KpiFigures, LedgerLine, ReconciliationReport


class ReportKpis(Response):
    """The day's KPIs for one channel in one warehouse, or a total over either."""

    channel: Channel | None = Field(description="None: every channel.")
    warehouse_id: str | None = Field(description="None: every warehouse of the report.")
    figures: KpiFigures


class AlertRuleLine(Response):
    """The alerts of one rule opened during the day, and how fast they were handled."""

    rule: str
    opened: int = Field(description="Alerts of the rule opened during the day.")
    acknowledged: int = Field(description="Of those, acknowledged by now.")
    resolved: int = Field(description="Of those, resolved by now.")
    acknowledge_minutes_avg: float | None = Field(
        description="Opened to acknowledged, mean, of the acknowledged ones."
    )
    acknowledge_minutes_max: float | None
    resolve_minutes_avg: float | None = Field(
        description="Opened to resolved, mean, of the resolved ones."
    )
    resolve_minutes_max: float | None


class AlertDeskLine(Response):
    """One rule's alerts of the day as one desk account acknowledged them."""

    rule: str
    user: str = Field(description="Who acknowledged them.")
    role: str | None = Field(description="Their role now (None: the account is gone).")
    acknowledged: int
    acknowledge_minutes_avg: float
    resolved: int = Field(description="Of those, resolved by now (by anyone).")
    resolve_minutes_avg: float | None


class ClaimsLine(Response):
    """Damage claims settled (compensation paid) during the day, for one warehouse and channel."""

    warehouse_id: str
    channel: Channel
    claims: int
    amount_cents: int = Field(description="What the approved claims paid out.")


class RiderLine(Response):
    """One rider's deliveries signed during the day."""

    rider_id: int
    name: str
    signed: int
    on_time: int = Field(description="Of `signed`, those at or before the promise.")
    on_time_rate: float | None
    delivery_minutes_avg: float | None = Field(description="Paid to signed, mean.")


class DayReport(Response):
    """One business day (local midnight to midnight in the business time zone)."""

    day: date
    tz: str = Field(description="The business time zone the day is cut in.")
    start: datetime
    end: datetime
    complete: bool = Field(description="False while the day is still running.")
    warehouse_id: str | None = Field(
        description="A merchant's report covers their warehouse only; None: every warehouse."
    )
    kpis: list[ReportKpis] = Field(
        description="The total, each warehouse's total, and each channel within each; the "
        "same figures as GET /kpi/summary over the day."
    )
    alerts_by_rule: list[AlertRuleLine]
    alerts_by_desk: list[AlertDeskLine]
    claims_paid: list[ClaimsLine]
    claims_paid_total: LedgerLine
    riders: list[RiderLine]
    reconciliation: ReconciliationReport | None = Field(
        description="The channels' ledger (GET /kpi/reconciliation); None in a merchant's "
        "report, as channels span warehouses."
    )
    computed_at: datetime
