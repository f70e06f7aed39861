"""Tables of the channel gateway: what each channel sent us, what we answered, what we refused.

Nothing here holds personal data beyond what the order itself holds: a refused payload is
recorded by field and problem, never by its content.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class ChannelOrderRow(Base):
    """A channel's order as received: the first answer (replayed to the channel's retries) and
    what the channel says it is worth."""

    __tablename__ = "channel_orders"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the order as mapped: a retry with other transport fields is the same order."""
    reported_amount_cents: Mapped[int]
    """What the channel says the customer pays (discounts, delivery fees and all)."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


class ChannelCallbackRow(Base):
    """A status callback from a channel (paid, cancelled by the customer, refund requested),
    kept with what became of it; `pending` ones wait for their order to arrive."""

    __tablename__ = "channel_callbacks"
    __table_args__ = (UniqueConstraint("channel", "callback_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    callback_id: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    amount_cents: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    """pending, applied, ignored (nothing to change), refused (too late) or recorded."""
    detail: Mapped[str | None] = mapped_column(String(300))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    """`{"digest": ...}`: what the callback said (`ChannelCallback.digest`), so a reused id
    with other content is told from a retry."""


class ChannelStatementRow(Base):
    """A channel's own totals for one business day (its daily bill), the newest one kept."""

    __tablename__ = "channel_statements"
    __table_args__ = (UniqueConstraint("channel", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date())
    orders: Mapped[int]
    amount_cents: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChannelRejectionRow(Base):
    """A payload we refused: which field, by our name and the channel's, and why. Never the
    payload itself (it carries names, phones and addresses)."""

    __tablename__ = "channel_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """order or callback."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    external_id: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(80))
    channel_field: Mapped[str | None] = mapped_column(String(80))
    problem: Mapped[str] = mapped_column(String(300))
