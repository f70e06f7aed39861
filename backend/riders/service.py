"""Riders: shifts, load (one slot per carried order), and position batches."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.fields import FieldPolicy
from backend.auth.principal import Principal
from backend.db import conflict_insert
from backend.errors import Conflict, NotFound, Unprocessable
from backend.eta.predictor import EtaPredictor
from backend.inventory.models import WarehouseRow
from backend.realtime.outbox import append_event
from backend.riders import progress
from backend.riders.models import RiderPositionRow, RiderRow
from backend.riders.scope import rider_scope
from backend.sql import Query, sql_of
from backend_client.models import (
    FleetFix,
    FleetPositions,
    FleetPositionsResult,
    PositionBatch,
    PositionBatchResult,
    PositionPoint,
    Rider,
    RiderIn,
    RiderStatus,
    Role,
)

# Phones' clocks drift; a fix slightly in the future is believed, one far ahead is not.
MAX_CLOCK_SKEW = timedelta(minutes=2)
# Offline caches older than this are not worth a track: the order is long settled.
MAX_FIX_AGE = timedelta(days=2)


def rider_view(row: RiderRow, fields: FieldPolicy) -> Rider:
    """The rider as the account with `fields` may see it (the phone whole or masked): the row's
    columns by name (see `user_view`)."""
    rider = Rider.model_validate(row, from_attributes=True)
    rider.phone = fields.rider_phone(row.id, row.phone)  # a fresh model: no copy needed
    return rider


async def list_riders(
    session: AsyncSession,
    principal: Principal,
    *,
    status: RiderStatus | None = None,
    warehouse_id: str | None = None,
) -> list[RiderRow]:
    query = select(RiderRow).where(rider_scope(principal)).order_by(RiderRow.id)
    if status is not None:
        query = query.where(RiderRow.status == status)
    if warehouse_id is not None:
        query = query.where(RiderRow.warehouse_id == warehouse_id)
    return list((await session.scalars(query)).all())


async def load_rider(
    session: AsyncSession, rider_id: int, principal: Principal, *, for_update: bool = False
) -> RiderRow:
    """The rider if the caller may see them, else NotFound (scope never leaks existence)."""
    query = select(RiderRow).where(RiderRow.id == rider_id, rider_scope(principal))
    if for_update:
        query = query.with_for_update()
    rider = await session.scalar(query)
    if rider is None:
        raise NotFound(f"no rider {rider_id}")
    return rider


async def set_status(
    session: AsyncSession, rider_id: int, status: RiderStatus, *, actor: Principal, now: datetime
) -> RiderRow:
    """Start or end a shift, or take a break; a rider cannot go offline while carrying orders."""
    if actor.role == Role.RIDER and actor.rider_id != rider_id:
        raise NotFound(f"no rider {rider_id}")
    rider = await load_rider(session, rider_id, actor, for_update=True)
    if rider.status == status:
        return rider
    if status == RiderStatus.OFFLINE and rider.active_orders:
        raise Conflict(
            f"{rider.name} still carries {rider.active_orders} "
            f"order{'' if rider.active_orders == 1 else 's'}: reassign them first",
            active_orders=rider.active_orders,
        )
    before = rider.status
    rider.status = status
    await session.flush()
    await append_event(
        session,
        kind="rider.status",
        actor=actor,
        at=now,
        rider_id=rider.id,
        warehouse_id=rider.warehouse_id,
        from_state=before,
        to_state=status,
    )
    return rider


LOCK_RIDER = Query("SELECT id FROM riders WHERE id = :id FOR UPDATE")
TAKE_SLOT = Query(
    "UPDATE riders SET active_orders = active_orders + 1 WHERE id = :id AND status = 'online' "
    "AND active_orders < capacity AND (cold_chain OR NOT :cold_chain)"
)
WHY_NO_SLOT = Query("SELECT status, active_orders, capacity FROM riders WHERE id = :id")
FREE_SLOT = Query(
    "UPDATE riders SET active_orders = active_orders - 1 WHERE id = :id AND active_orders > 0"
)


async def lock_riders(session: AsyncSession, rider_ids: set[int]) -> None:
    """Lock rider rows in id order, so two transactions moving orders between the same riders
    in opposite directions queue instead of deadlocking (PostgreSQL; SQLite has one writer)."""
    sql = sql_of(session)
    for rider_id in sorted(rider_ids):
        await sql.one(LOCK_RIDER, {"id": rider_id})


async def take_slot(session: AsyncSession, rider_id: int, *, cold_chain: bool) -> None:
    """Give the rider one more order, atomically, or say why they cannot take it."""
    sql = sql_of(session)
    if await sql.run(TAKE_SLOT, {"id": rider_id, "cold_chain": cold_chain}) == 1:
        return
    row = await sql.one(WHY_NO_SLOT, {"id": rider_id})
    if row is None:
        raise Unprocessable(f"no rider {rider_id}")
    status, active, capacity = row
    if status != RiderStatus.ONLINE:
        raise Conflict(f"rider {rider_id} is {status}, not online")
    if active >= capacity:
        raise Conflict(f"rider {rider_id} is full ({active}/{capacity} orders)")
    raise Conflict(f"rider {rider_id} has no cold-chain box for a cold-chain order")


async def free_slot(session: AsyncSession, rider_id: int) -> None:
    await sql_of(session).run(FREE_SLOT, {"id": rider_id})


async def record_positions(
    session: AsyncSession,
    rider_id: int,
    batch: PositionBatch,
    *,
    actor: Principal,
    now: datetime,
    still_radius_m: float = progress.DEFAULT_STILL_RADIUS_M,
    eta: EtaPredictor | None = None,
) -> PositionBatchResult:
    """Keep a batch of fixes: sorted by their own time, duplicates dropped, latest fix cached.

    The whole batch is refused (422, nothing kept) if any fix is impossible. A late upload of
    an offline cache never moves the rider backwards: the cached fix only moves forward.
    """
    if actor.role == Role.RIDER and actor.rider_id != rider_id:
        raise NotFound(f"no rider {rider_id}")
    rider = await load_rider(session, rider_id, actor, for_update=True)
    problems = [
        f"points[{i}]: {why}"
        for i, point in enumerate(batch.points)
        if (why := _impossible(point.at, now))
    ]
    if problems:
        raise Unprocessable("impossible positions: " + "; ".join(problems))
    by_time: dict[datetime, PositionPoint] = {}
    for point in sorted(batch.points, key=lambda p: p.at):
        by_time.setdefault(point.at, point)
    times = list(by_time)
    known = set(
        (
            await session.scalars(
                select(RiderPositionRow.at).where(
                    RiderPositionRow.rider_id == rider_id,
                    RiderPositionRow.at >= times[0],
                    RiderPositionRow.at <= times[-1],
                )
            )
        ).all()
    )
    fresh = [p for at, p in by_time.items() if at not in known]
    moved = False
    if fresh:
        await session.execute(
            conflict_insert(session)(RiderPositionRow).on_conflict_do_nothing(),
            [_track_row(rider_id, p, now) for p in fresh],
        )
        forward = _after(fresh, rider.last_fix_at)
        await progress.advance(
            session,
            [(rider, forward)],
            still_radius_m=still_radius_m,
            actor=actor,
            now=now,
            eta=eta,
        )
        if forward:
            newest = forward[-1]
            rider.last_lat, rider.last_lng, rider.last_fix_at = newest.lat, newest.lng, newest.at
            moved = True
    return PositionBatchResult(
        accepted=len(fresh),
        duplicates=len(batch.points) - len(fresh),
        moved=moved,
        last_lat=rider.last_lat,
        last_lng=rider.last_lng,
        last_fix_at=rider.last_fix_at,
    )


def _after(fixes: list[PositionPoint], last: datetime | None) -> list[PositionPoint]:
    """The fixes newer than `last`, oldest first: the ones that move a rider on."""
    return sorted((f for f in fixes if last is None or f.at > last), key=lambda f: f.at)


def _track_row(rider_id: int, point: PositionPoint, now: datetime) -> dict[str, object]:
    """One fix as a `rider_positions` row."""
    return {
        "rider_id": rider_id,
        "at": point.at,
        "lat": point.lat,
        "lng": point.lng,
        "speed_kmh": point.speed_kmh,
        "accuracy_m": point.accuracy_m,
        "received_at": now,
    }


def _impossible(at: datetime, now: datetime) -> str | None:
    if at > now + MAX_CLOCK_SKEW:
        return f"time {at.isoformat()} is in the future"
    if at < now - MAX_FIX_AGE:
        return f"time {at.isoformat()} is older than {MAX_FIX_AGE.days} days"
    return None


async def register_riders(
    session: AsyncSession, crew: list[RiderIn], *, actor: Principal, now: datetime
) -> list[RiderRow]:
    """New riders, all or none: every warehouse named must exist."""
    named = {r.warehouse_id for r in crew}
    known = set(
        (await session.scalars(select(WarehouseRow.id).where(WarehouseRow.id.in_(named)))).all()
    )
    unknown = [
        f"riders[{i}].warehouse_id: no warehouse {r.warehouse_id}"
        for i, r in enumerate(crew)
        if r.warehouse_id not in known
    ]
    if unknown:
        raise Unprocessable("; ".join(unknown[:20]))
    rows = [
        RiderRow(
            name=r.name,
            phone=r.phone,
            warehouse_id=r.warehouse_id,
            status=r.status,
            capacity=r.capacity,
            active_orders=0,
            cold_chain=r.cold_chain,
        )
        for r in crew
    ]
    session.add_all(rows)
    await session.flush()
    for row in rows:
        await append_event(
            session,
            kind="rider.registered",
            actor=actor,
            at=now,
            rider_id=row.id,
            warehouse_id=row.warehouse_id,
            to_state=row.status,
            payload={"name": row.name, "capacity": row.capacity, "cold_chain": row.cold_chain},
        )
    return rows


async def record_fleet_positions(
    session: AsyncSession,
    fleet: FleetPositions,
    *,
    actor: Principal,
    now: datetime,
    still_radius_m: float = progress.DEFAULT_STILL_RADIUS_M,
    eta: EtaPredictor | None = None,
) -> tuple[FleetPositionsResult, list[RiderRow]]:
    """Many riders' fixes at once, by the same rules as one rider's batch; the whole request is
    refused (422, nothing kept) if a fix is impossible or names an unknown rider. Returns the
    riders whose last fix moved forward, for the stream."""
    problems = [
        f"fixes[{i}]: {why}"
        for i, fix in enumerate(fleet.fixes)
        if (why := _impossible(fix.at, now))
    ]
    newest: dict[int, FleetFix] = {}
    unique: dict[tuple[int, datetime], FleetFix] = {}
    for fix in fleet.fixes:
        unique.setdefault((fix.rider_id, fix.at), fix)
        if fix.rider_id not in newest or fix.at > newest[fix.rider_id].at:
            newest[fix.rider_id] = fix
    # Locked in id order, so two gateways' overlapping batches queue instead of deadlocking.
    riders = {
        r.id: r
        for r in await session.scalars(
            select(RiderRow)
            .where(RiderRow.id.in_(sorted(newest)))
            .order_by(RiderRow.id)
            .with_for_update()
        )
    }
    problems += [f"no rider {rider_id}" for rider_id in sorted(set(newest) - set(riders))]
    if problems:
        raise Unprocessable("impossible positions: " + "; ".join(problems[:20]))
    insert = conflict_insert(session)(RiderPositionRow).on_conflict_do_nothing()
    kept = (
        await session.scalars(
            insert.returning(RiderPositionRow.id),
            [_track_row(f.rider_id, f, now) for f in unique.values()],
        )
    ).all()
    by_rider: dict[int, list[PositionPoint]] = {}
    for fix in unique.values():
        by_rider.setdefault(fix.rider_id, []).append(fix)
    moves = [(riders[i], _after(fixes, riders[i].last_fix_at)) for i, fixes in by_rider.items()]
    await progress.advance(
        session, moves, still_radius_m=still_radius_m, actor=actor, now=now, eta=eta
    )
    moved = []
    for rider, forward in moves:
        if forward:
            last = forward[-1]
            rider.last_lat, rider.last_lng, rider.last_fix_at = last.lat, last.lng, last.at
            moved.append(rider)
    await session.flush()
    result = FleetPositionsResult(
        accepted=len(kept), duplicates=len(fleet.fixes) - len(kept), moved=len(moved)
    )
    return result, moved
