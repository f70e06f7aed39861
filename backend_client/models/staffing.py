"""Shifts and staffing: riders' planned shifts, the orders forecast per zone and hour against
the riders planned for it, and moving a rider to another zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from backend_client.models.common import Moment, Reason, Request, Response, text

ZoneName = Annotated[str, text(60)]


class Shift(Response):
    """One planned shift of one rider in one zone: [starts_at, ends_at)."""

    id: int
    rider_id: int
    zone: str
    starts_at: datetime
    ends_at: datetime
    version: int
    created_by: str = Field(
        description="Who planned it (a role in place of a name for scoped accounts)."
    )


class ShiftCreate(Request):
    """A shift to plan: it ends after it starts, lasts at most `shift_max_hours`, and overlaps
    none of the rider's other shifts."""

    starts_at: Moment
    ends_at: Moment
    zone: ZoneName


class ShiftUpdate(Request):
    """A change to a planned shift: the fields given replace the shift's; `version` is the
    shift's as read (a stale one answers 409)."""

    version: Annotated[int, Field(ge=1)]
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    zone: ZoneName | None = None


class RiderMove(Request):
    """Move a rider to another zone: they are based at that zone's warehouse from now on."""

    zone: ZoneName
    reason: Reason | None = None


class StaffingHour(Response):
    """One clock hour of one zone: the orders expected, the riders planned and needed."""

    starts_at: datetime
    forecast_orders: float = Field(description="Mean orders in this hour of the week (history).")
    weeks: int = Field(description="How many past weeks the forecast averages (0: no history).")
    riders_planned: float = Field(description="Rider-hours of planned shifts in this hour.")
    riders_needed: int = Field(description="ceil(forecast / orders per rider-hour).")
    short: float = Field(description="riders_needed - riders_planned when above 0, else 0.")


class ZoneStaffing(Response):
    """A zone now (riders on shift and online) and over the next hours."""

    zone: str
    warehouse_id: str
    planned_now: int = Field(description="Riders whose planned shift covers this moment.")
    online_now: int = Field(description="Riders based in the zone and online or on a break.")
    hours: list[StaffingHour]


class Staffing(Response):
    """Planned against online and needed, per zone, from the current clock hour on."""

    at: datetime
    orders_per_rider_hour: float
    history_weeks: int
    zones: list[ZoneStaffing]
