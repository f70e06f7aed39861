"""Rosters and moves: planning, changing and removing riders' shifts, and moving a rider to
another zone. Every change is an event in the log (`rider.shift_planned`, `...changed`,
`...removed`, `rider.moved`), written in the change's transaction.

A rider's shifts never overlap: each change takes the rider's row lock first (PostgreSQL; SQLite
has one writer), then looks for an overlapping shift, so two dispatchers planning the same
rider at once queue and the second is told of the first's shift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound, Unprocessable
from backend.inventory.models import WarehouseRow
from backend.realtime.outbox import append_event
from backend.riders.models import RiderRow
from backend.riders.service import load_rider
from backend.staffing.models import ShiftRow
from backend_client.models import Role
from backend_client.models.staffing import Shift, ShiftCreate, ShiftUpdate

SCOPED = (Role.MERCHANT, Role.RIDER, Role.CHANNEL)


def shift_view(row: ShiftRow, viewer: Principal) -> Shift:
    """The shift as `viewer` sees it: store staff and riders see who planned it by role."""
    shift = Shift.model_validate(row, from_attributes=True)
    if viewer.role in SCOPED:
        shift.created_by = "desk"
    return shift


async def zone_warehouse(session: AsyncSession, zone: str) -> str:
    """The warehouse serving `zone`, or 422: shifts and moves name zones warehouses serve."""
    warehouse_id = await session.scalar(
        select(WarehouseRow.id).where(WarehouseRow.zone == zone).order_by(WarehouseRow.id)
    )
    if warehouse_id is None:
        raise Unprocessable(f"no warehouse serves zone {zone!r}")
    return warehouse_id


async def list_shifts(
    session: AsyncSession,
    rider_id: int,
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ShiftRow]:
    """The rider's shifts ending after `since` and starting before `until`, by start."""
    await load_rider(session, rider_id, principal)
    query = select(ShiftRow).where(ShiftRow.rider_id == rider_id).order_by(ShiftRow.starts_at)
    if since is not None:
        query = query.where(ShiftRow.ends_at > since)
    if until is not None:
        query = query.where(ShiftRow.starts_at < until)
    return list((await session.scalars(query)).all())


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime, max_hours: float) -> None:
    if ends_at <= starts_at:
        raise Unprocessable("a shift must end after it starts")
    if ends_at - starts_at > timedelta(hours=max_hours):
        raise Unprocessable(f"a shift may last at most {max_hours:g} hours")
    if ends_at <= now:
        raise Unprocessable("the shift is over already: a roster plans what is to come")


async def _check_free(
    session: AsyncSession,
    rider: RiderRow,
    starts_at: datetime,
    ends_at: datetime,
    *,
    besides: int | None = None,
) -> None:
    query = select(ShiftRow).where(
        ShiftRow.rider_id == rider.id, ShiftRow.starts_at < ends_at, ShiftRow.ends_at > starts_at
    )
    if besides is not None:
        query = query.where(ShiftRow.id != besides)
    other = await session.scalar(query.order_by(ShiftRow.starts_at).limit(1))
    if other is not None:
        raise Conflict(
            f"{rider.name} already has a shift from {other.starts_at:%Y-%m-%d %H:%M} to "
            f"{other.ends_at:%Y-%m-%d %H:%M} UTC (shift {other.id})",
            shift_id=other.id,
        )


async def _event(
    session: AsyncSession,
    kind: str,
    row: ShiftRow,
    rider: RiderRow,
    actor: Principal,
    now: datetime,
) -> None:
    await append_event(
        session,
        kind=kind,
        actor=actor,
        at=now,
        rider_id=rider.id,
        warehouse_id=rider.warehouse_id,
        payload={
            "shift_id": row.id,
            "zone": row.zone,
            "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(),
            "version": row.version,
        },
    )


async def add_shift(
    session: AsyncSession,
    rider_id: int,
    body: ShiftCreate,
    *,
    actor: Principal,
    now: datetime,
    max_hours: float,
) -> ShiftRow:
    rider = await load_rider(session, rider_id, actor, for_update=True)
    _check_times(body.starts_at, body.ends_at, now, max_hours)
    await zone_warehouse(session, body.zone)
    await _check_free(session, rider, body.starts_at, body.ends_at)
    row = ShiftRow(
        rider_id=rider.id,
        zone=body.zone,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        created_by=actor.username,
        created_at=now,
        version=1,
    )
    session.add(row)
    await session.flush()
    await _event(session, "rider.shift_planned", row, rider, actor, now)
    return row


async def _load_shift(session: AsyncSession, rider: RiderRow, shift_id: int) -> ShiftRow:
    row = await session.scalar(
        select(ShiftRow).where(ShiftRow.id == shift_id, ShiftRow.rider_id == rider.id)
    )
    if row is None:
        raise NotFound(f"no shift {shift_id} of rider {rider.id}")
    return row


async def change_shift(
    session: AsyncSession,
    rider_id: int,
    shift_id: int,
    body: ShiftUpdate,
    *,
    actor: Principal,
    now: datetime,
    max_hours: float,
) -> ShiftRow:
    rider = await load_rider(session, rider_id, actor, for_update=True)
    row = await _load_shift(session, rider, shift_id)
    if body.version != row.version:
        raise Conflict(
            f"shift {shift_id} changed since you read it (version {row.version})",
            version=row.version,
        )
    starts_at = body.starts_at or row.starts_at
    ends_at = body.ends_at or row.ends_at
    zone = body.zone or row.zone
    if (starts_at, ends_at, zone) == (row.starts_at, row.ends_at, row.zone):
        return row  # nothing to change: no new version, no event
    _check_times(starts_at, ends_at, now, max_hours)
    if zone != row.zone:
        await zone_warehouse(session, zone)
    await _check_free(session, rider, starts_at, ends_at, besides=row.id)
    row.starts_at, row.ends_at, row.zone = starts_at, ends_at, zone
    row.version += 1
    await session.flush()
    await _event(session, "rider.shift_changed", row, rider, actor, now)
    return row


async def remove_shift(
    session: AsyncSession, rider_id: int, shift_id: int, *, actor: Principal, now: datetime
) -> None:
    rider = await load_rider(session, rider_id, actor, for_update=True)
    row = await _load_shift(session, rider, shift_id)
    await _event(session, "rider.shift_removed", row, rider, actor, now)
    await session.delete(row)
    await session.flush()


async def move_rider(
    session: AsyncSession,
    rider_id: int,
    zone: str,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None = None,
) -> RiderRow:
    """Base the rider at the warehouse serving `zone` from now on (dispatch offers them that
    warehouse's orders). Not while they carry orders: those belong to the warehouse they
    left, and a handover comes first."""
    rider = await load_rider(session, rider_id, actor, for_update=True)
    to_warehouse = await zone_warehouse(session, zone)
    if to_warehouse == rider.warehouse_id:
        return rider  # already there: nothing changes, nothing is logged
    if rider.active_orders:
        raise Conflict(
            f"{rider.name} still carries {rider.active_orders} "
            f"order{'' if rider.active_orders == 1 else 's'}: hand them over first",
            active_orders=rider.active_orders,
        )
    from_zone = await session.scalar(
        select(WarehouseRow.zone).where(WarehouseRow.id == rider.warehouse_id)
    )
    from_warehouse = rider.warehouse_id
    rider.warehouse_id = to_warehouse
    # "At the warehouse" was about the one they left; the next fix decides it again.
    rider.at_warehouse = None
    await session.flush()
    await append_event(
        session,
        kind="rider.moved",
        actor=actor,
        at=now,
        rider_id=rider.id,
        warehouse_id=to_warehouse,
        reason=reason,
        payload={
            "from_zone": from_zone,
            "to_zone": zone,
            "from_warehouse": from_warehouse,
            "to_warehouse": to_warehouse,
        },
    )
    return rider
