"""What a KPI question covers: a window, an optional channel, warehouse or zone, and how to
group the answer (one total, per channel, or per time bucket)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from backend.kpi.sql import epoch, floor_int
from backend.orders.models import OrderRow

GroupKey = ColumnElement[Any] | InstrumentedAttribute[str]
"""What KPIs group orders by: a column (the channel) or an expression (the bucket)."""

MAX_WINDOW = timedelta(days=92)
MAX_BUCKETS = 3000


class Grouping(StrEnum):
    TOTAL = "total"
    CHANNEL = "channel"
    BUCKET = "bucket"


TOTAL_KEY = "*"


@dataclass(frozen=True, slots=True)
class KpiScope:
    """A window [start, end) and the filter; `end` is already clipped to the server's now."""

    start: datetime
    end: datetime
    channel: str | None = None
    warehouse_id: str | None = None
    zone: str | None = None
    bucket: timedelta = timedelta(minutes=15)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> KpiScope:
        """The window of the same length just before this one."""
        return replace(self, start=self.start - self.length, end=self.start)

    @property
    def bucket_count(self) -> int:
        whole, part = divmod(self.length, self.bucket)
        return int(whole) + (1 if part else 0)

    def order_filters(self) -> list[ColumnElement[bool]]:
        """The channel, warehouse and zone conditions on order rows."""
        conditions: list[ColumnElement[bool]] = []
        if self.channel is not None:
            conditions.append(OrderRow.channel == self.channel)
        if self.warehouse_id is not None:
            conditions.append(OrderRow.warehouse_id == self.warehouse_id)
        if self.zone is not None:
            conditions.append(OrderRow.zone == self.zone)
        return conditions

    def key(self, grouping: Grouping, moment: InstrumentedAttribute) -> GroupKey | None:
        """The group key of an order row: its channel, or its bucket's index by `moment`; None
        for one total (no GROUP BY: PostgreSQL refuses to group by a constant)."""
        match grouping:
            case Grouping.TOTAL:
                return None
            case Grouping.CHANNEL:
                return OrderRow.channel
        return self.bucket_index(epoch(moment))

    def bucket_index(self, seconds: ColumnElement) -> ColumnElement[int]:
        """Which bucket a Unix time falls in, counting from the window's start."""
        return floor_int((seconds - self.start.timestamp()) / self.bucket.total_seconds())
