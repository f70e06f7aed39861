"""The day report's session: a KPI window's tiered read (`backend/tiers/reads.py`), plus what
the report reads beyond the KPIs when its day is archived: the orders' `order.created` events
(the reconciliation counts what each channel's account created) and the return requests (what
the claims paid). Alerts and riders are never archived; a hot day is a plain read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.settings import Settings
from backend.tiers.reads import KPI_EVENT_KINDS, kpi_session

REPORT_EVENT_KINDS = (*KPI_EVENT_KINDS, "order.created")


@asynccontextmanager
async def report_session(
    db: Database, settings: Settings, start: datetime, end: datetime
) -> AsyncIterator[AsyncSession]:
    """A session for the day report over [start, end): hot and archived rows alike."""
    async with kpi_session(
        db, settings, start, end, event_kinds=REPORT_EVENT_KINDS, every_request=True
    ) as session:
        yield session
