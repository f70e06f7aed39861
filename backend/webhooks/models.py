"""The webhook subscriptions table: where to post, what, and how far delivery has got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Double, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.crypto.columns import Sealed
from backend.db import Base, UTCDateTime


class WebhookRow(Base):
    """One subscription. The event log is its queue: `cursor` is the last `seq` delivered (or
    passed over as not matching); the lease says which instance delivers it now."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(Sealed("webhooks.secret"))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    channel: Mapped[str | None] = mapped_column(String(20))
    warehouse_id: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10))
    cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    generation: Mapped[int] = mapped_column(Integer)
    """Bumped by every admin change of the cursor or state (replay, resume): a deliverer
    holding an older generation may not write its cursor over the new one."""
    failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    """The backend instance delivering it (None: nobody)."""
    lease_until: Mapped[float | None] = mapped_column(Double)
    """Unix time the lease runs out unless renewed; then any instance may take it."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(40))
