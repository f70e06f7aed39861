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


LINK = "{tracking_url}"
"""Left in the stored message and filled when it is sent: the link is a credential to the
order's view, so it is kept encrypted with the order (backend/tracking), never in a message."""


def render(
    template: str,
    *,
    reference: str,
    eta: datetime | None,
    promised: datetime,
    zone: ZoneInfo,
) -> str:
    """The message, times in the business time zone as HH:MM; `{tracking_url}` kept for
    `with_link` at sending time."""
    return template.format(
        reference=reference,
        eta=f"about {eta.astimezone(zone):%H:%M}" if eta is not None else UNKNOWN_ETA,
        promised=f"{promised.astimezone(zone):%H:%M}",
        tracking_url=LINK,
    ).strip()


def with_link(message: str, link: str | None) -> str:
    """The message as sent: its customer's tracking link in place (nothing without one)."""
    return message.replace(LINK, link or "").strip()
