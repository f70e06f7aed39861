"""The customers' messages: templates from the rules file, rendered with the order's facts.

A template names the order only by its customer-facing reference (the channel's order number)
and times: nothing else about the customer ever goes into a message.
"""

from __future__ import annotations

from datetime import datetime
from string import Formatter
from zoneinfo import ZoneInfo

PLACEHOLDERS = frozenset({"reference", "eta", "promised", "tracking_url"})
"""What a template may name: `{reference}` the channel's order number, `{eta}` the expected
arrival ("about 14:30", or "as soon as we can" when not known), `{promised}` the promised
time (local HH:MM), and
`{tracking_url}` the customer's tracking link (empty while there is none)."""

UNKNOWN_ETA = "as soon as we can"


def check_template(template: str) -> str:
    """`template` if it names only `PLACEHOLDERS`; else ValueError naming the stranger."""
    try:
        fields = [field for _, field, spec, _ in Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValueError(f"not a template: {exc}") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{field}}}: use {known}")
    return template


def render(
    template: str,
    *,
    reference: str,
    eta: datetime | None,
    promised: datetime,
    zone: ZoneInfo,
    tracking_url: str | None = None,
) -> str:
    """The message, times in the business time zone as HH:MM."""
    return template.format(
        reference=reference,
        eta=f"about {eta.astimezone(zone):%H:%M}" if eta is not None else UNKNOWN_ETA,
        promised=f"{promised.astimezone(zone):%H:%M}",
        tracking_url=tracking_url or "",
    ).strip()
