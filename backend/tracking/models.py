"""The tracking link of each order: its token kept encrypted, found by a blind index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.crypto.columns import Sealed
from backend.db import Base, UTCDateTime


class TrackingLinkRow(Base):
    """One order's link. The token is encrypted (it can be shown to staff again) and looked up
    by `token_index`, its keyed hash: the database never holds it in the clear."""

    __tablename__ = "tracking_links"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    token: Mapped[str] = mapped_column(Sealed("tracking_links.token"))
    token_index: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sign_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the rider last asked the customer to sign on the page."""
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the customer signed on the page (the proof itself is kept by backend/proof)."""
