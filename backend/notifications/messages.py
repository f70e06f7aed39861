"""The customers' messages: templates from the rules file, rendered with the order's facts.

A template names the order only by its customer-facing reference (the channel's order number)
and times: nothing else about the customer ever goes into a message (the rules file refuses any
other placeholder: `backend/alerts/rules.py` `PLACEHOLDERS`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

UNKNOWN_ETA = "as soon as we can"
"""What `{eta}` says while there is no ETA."""


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
