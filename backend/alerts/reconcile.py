"""What should change: the standing alerts against what the rules find now (pure, no I/O).

- a finding with no standing alert opens one;
- a standing alert whose condition no longer holds resolves by itself;
- one whose severity, title or rider changed is updated (turning critical restarts its
  escalation clock);
- a snoozed one whose time is up comes back;
- an open critical one nobody acknowledged within `escalation.after_minutes` escalates
  (once; alerts grouped under another escalate through their parent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backend.alerts.findings import Finding
from backend.alerts.rules import Rules
from backend_client.models import AlertSeverity, AlertState


class Step(StrEnum):
    OPEN = "opened"
    RESOLVE = "resolved"
    UPDATE = "updated"
    WAKE = "woke"
    ESCALATE = "escalated"


@dataclass(frozen=True, slots=True)
class Standing:
    """What the engine needs to know of an alert that still stands."""

    id: int
    rule: str
    subject: str
    severity: str
    state: str
    title: str
    rider_id: int | None
    version: int
    attention_since: datetime
    snoozed_until: datetime | None
    escalated_at: datetime | None
    parent_id: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)


@dataclass(frozen=True, slots=True)
class Change:
    step: Step
    finding: Finding | None = None
    """What holds now (open, update); None when the condition cleared."""
    alert_id: int | None = None
    version: int | None = None
    """The version the change was worked out from: if the alert moved on since, skip it."""


def reconcile(
    standing: list[Standing], findings: dict[tuple[str, str], Finding], rules: Rules, now: datetime
) -> list[Change]:
    changes = []
    known = {alert.key for alert in standing}
    for key, finding in findings.items():
        if key not in known:
            changes.append(Change(Step.OPEN, finding))
    escalate_after = timedelta(minutes=rules.escalation.after_minutes)
    for alert in standing:
        holding = findings.get(alert.key)
        step = _step(alert, holding, escalate_after, now)
        if step is not None:
            changes.append(Change(step, holding, alert.id, alert.version))
    return changes


def _step(
    alert: Standing, finding: Finding | None, escalate_after: timedelta, now: datetime
) -> Step | None:
    if finding is None:
        return Step.RESOLVE
    if (
        str(finding.severity) != alert.severity
        or finding.title != alert.title
        or finding.rider_id != alert.rider_id
    ):
        return Step.UPDATE
    if alert.state == AlertState.SNOOZED:
        due = alert.snoozed_until is None or alert.snoozed_until <= now
        return Step.WAKE if due else None
    if (
        alert.state == AlertState.OPEN
        and alert.severity == AlertSeverity.CRITICAL
        and alert.escalated_at is None
        and alert.parent_id is None
        and now - alert.attention_since >= escalate_after
    ):
        return Step.ESCALATE
    return None
