"""The console's standing alerts: the exception queue's picture, kept from a snapshot and the
`alerts` topic of the stream.

Pure Python (no Textual). Each alert event carries the whole alert as it now stands; an alert is
taken only if newer than the one held (by its `version`), and leaves the book once resolved.
Alerts grouped under another (a silent rider's late orders) are not queued on their own: they
ride with their parent, which counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from backend_client.models import Alert, AlertRule, AlertSeverity, AlertState, Event

SEVERITY_RANK = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}

RULE_WORDS: dict[AlertRule, str] = {
    AlertRule.DELIVERY_OVERDUE: "overdue",
    AlertRule.PREDICTED_LATE: "will be late",
    AlertRule.RIDER_STATIONARY: "standing still",
    AlertRule.GPS_SILENT: "GPS silent",
    AlertRule.OFF_ROUTE: "off route",
    AlertRule.NOT_PICKED: "not picked",
    AlertRule.PAYMENT_PENDING: "unpaid",
    AlertRule.OUT_OF_STOCK: "out of stock",
    AlertRule.COLD_CHAIN_TEMPERATURE: "cold chain",
    AlertRule.HUMIDITY: "humidity",
    AlertRule.DELIVERY_EXCEPTION: "exception",
    AlertRule.RETURN_REQUESTED: "return",
    AlertRule.CLAIM_REQUESTED: "claim",
    AlertRule.UNDERSTAFFED_ZONE: "short of riders",
    AlertRule.LOW_STOCK: "low stock",
    AlertRule.COMPLAINT_OPENED: "complaint",
}
"""Short words for the queue's rule column."""


@dataclass(frozen=True)
class AlertFilter:
    """What the queue is narrowed to; the default shows every standing alert."""

    faults_only: bool = False
    """Only what still needs someone: open warnings and criticals (not acknowledged, snoozed
    or informational)."""
    severity: AlertSeverity | None = None
    rule: AlertRule | None = None
    zone: str | None = None
    acknowledged_by: str | None = None
    """Only the alerts this user acknowledged (`:alerts mine`)."""

    @property
    def active(self) -> bool:
        return bool(
            self.faults_only or self.severity or self.rule or self.zone or self.acknowledged_by
        )


class AlertBook:
    """Standing alerts by id, and what changed since the screen last looked."""

    def __init__(self) -> None:
        self.alerts: dict[int, Alert] = {}
        self.changed = False

    def load(self, alerts: Iterable[Alert]) -> None:
        self.alerts = {a.id: a for a in alerts if a.state != AlertState.RESOLVED}
        self.changed = True

    def apply(self, event: Event) -> bool:
        """Take an `alert.*` event's alert, unless we hold a newer version of it."""
        try:
            alert = Alert.model_validate(event.payload)
        except ValidationError:
            return False  # not an alert this console understands; the next snapshot has it
        held = self.alerts.get(alert.id)
        if held is not None and held.version >= alert.version:
            return False
        if alert.state == AlertState.RESOLVED:
            self.alerts.pop(alert.id, None)
        else:
            self.alerts[alert.id] = alert
        self.changed = True
        return True

    # --- what the queue shows ---------------------------------------------------------------

    def children(self, alert_id: int) -> list[Alert]:
        return sorted(
            (a for a in self.alerts.values() if a.parent_id == alert_id), key=lambda a: a.id
        )

    def is_grouped(self, alert: Alert) -> bool:
        return alert.parent_id is not None and alert.parent_id in self.alerts

    def matches(self, alert: Alert, alert_filter: AlertFilter) -> bool:
        f = alert_filter
        if f.faults_only and (
            alert.state != AlertState.OPEN or alert.severity == AlertSeverity.INFO
        ):
            return False
        if f.severity and alert.severity != f.severity:
            return False
        if f.rule and alert.rule != f.rule:
            return False
        if f.acknowledged_by and alert.acknowledged_by != f.acknowledged_by:
            return False
        return not f.zone or alert.zone == f.zone

    def queue(self, alert_filter: AlertFilter | None = None) -> list[int]:
        """The queue's alert ids: most severe first, escalated first among equals, then the
        longest waiting; grouped alerts left out (their parent stands for them)."""
        f = alert_filter or AlertFilter()
        shown = [a for a in self.alerts.values() if not self.is_grouped(a) and self.matches(a, f)]
        shown.sort(
            key=lambda a: (SEVERITY_RANK[a.severity], a.escalated_at is None, a.opened_at, a.id)
        )
        return [a.id for a in shown]

    def unhandled(self) -> int:
        """Open alerts nobody has taken on, grouped ones counted in their parent."""
        return sum(
            1 for a in self.alerts.values() if a.state == AlertState.OPEN and not self.is_grouped(a)
        )

    def critical(self) -> int:
        return sum(
            1
            for a in self.alerts.values()
            if a.state == AlertState.OPEN
            and a.severity == AlertSeverity.CRITICAL
            and not self.is_grouped(a)
        )

    def zones(self) -> list[str]:
        return sorted({a.zone for a in self.alerts.values() if a.zone})

    def open_for(self, alert: Alert, now: datetime) -> str:
        """How long it has stood: "4m", "1h05"."""
        minutes = max(0, int((now - alert.opened_at).total_seconds() // 60))
        return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"
