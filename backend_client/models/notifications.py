"""Customer notifications as the desk sees them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from backend_client.models.common import Response


class NotificationStatus(StrEnum):
    PENDING = "pending"
    """Waiting to go out, or to be tried again at `next_attempt_at`."""
    SENT = "sent"
    PARKED = "parked"
    """Given up on after too many failures, or refused for good: `last_error` says why."""


class Notification(Response):
    """One message to an order's customer, decided once by one rule."""

    id: int = Field(description="Also the idempotency key the gateway receives.")
    order_id: int
    rule: str = Field(
        description="eta_soon, late, exception, signed or unsigned_survey; `handover:<id>` "
        "for an order moved by a handover (docs/auto-handover.md)."
    )
    message: str
    status: NotificationStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    notifier: str | None = Field(description="Which notifier took it: http or log.")
    last_error: str | None
