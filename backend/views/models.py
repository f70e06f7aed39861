"""The saved views table: one row per view, owned by one account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class SavedViewRow(Base):
    """A named board of one account. Names are unique per account, and an account has at most
    one default: both are constraints, so two terminals of one person saving at once cannot
    break either (the loser gets 409)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    is_default: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    """`ViewSettings` as JSON, checked when written (`ViewSettingsIn`)."""
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index(
    "uq_saved_views_one_default",
    SavedViewRow.user_id,
    unique=True,
    sqlite_where=SavedViewRow.is_default,
    postgresql_where=SavedViewRow.is_default,
)
