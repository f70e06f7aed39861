"""Which notification rules an order meets now: a pure function of its facts and the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backend.alerts.rules import Notice, Notify
from backend_client.models import OrderState


class NotifyRule(StrEnum):
    """The customer notification rules (`[notify.*]` in the rules file)."""

    ETA_SOON = "eta_soon"
    LATE = "late"
    EXCEPTION = "exception"
    SIGNED = "signed"
    UNSIGNED_SURVEY = "unsigned_survey"


SURVEY_WINDOW = timedelta(hours=24)
"""An unsigned order is surveyed within a day of coming due, not on and on after."""
NOT_LATE_STATES = frozenset({OrderState.CREATED, OrderState.RETURNING, OrderState.CLAIMING})
"""Open, but no "running late" for these: not paid for (it is cancelled when payment times
out), or nothing is on its way to the customer any more."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the rules read of one order (`engine.read_facts`)."""

    id: int
    reference: str
    status: str
    open: bool
    promised_at: datetime
    eta_at: datetime | None
    """Its current rider's ETA, while DELIVERING (the one `order.eta` carries)."""
    delivering_at: datetime | None
    exception_at: datetime | None
    signed_at: datetime | None


def notice(rules: Notify, rule: NotifyRule) -> Notice:
    """The section of `rules` for `rule`."""
    section: Notice = getattr(rules, rule.value)
    return section


def due(order: OrderFacts, rules: Notify, now: datetime) -> list[NotifyRule]:
    """The enabled rules whose condition `order` meets at `now` (whether already told or not)."""
    fresh = timedelta(minutes=rules.max_age_minutes)
    found = []
    eta = order.eta_at if order.status == OrderState.DELIVERING else None
    soon = rules.eta_soon
    if soon.enabled and eta is not None and eta - now <= timedelta(minutes=soon.minutes):
        found.append(NotifyRule.ETA_SOON)
    late = rules.late
    if late.enabled and order.open and order.status not in NOT_LATE_STATES:
        limit = order.promised_at + timedelta(minutes=late.grace_minutes)
        if now > limit or (eta is not None and eta > limit):
            found.append(NotifyRule.LATE)
    stopped = order.exception_at
    if rules.exception.enabled and stopped is not None and now - stopped <= fresh:
        found.append(NotifyRule.EXCEPTION)
    if rules.signed.enabled and order.signed_at is not None and now - order.signed_at <= fresh:
        found.append(NotifyRule.SIGNED)
    survey = rules.unsigned_survey
    if survey.enabled and order.signed_at is None and order.delivering_at is not None:
        waited = now - order.delivering_at
        after = timedelta(hours=survey.hours)
        if after <= waited < after + SURVEY_WINDOW:
            found.append(NotifyRule.UNSIGNED_SURVEY)
    return found
