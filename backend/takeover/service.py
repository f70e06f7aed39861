"""Proposing, carrying out, dismissing and undoing a handover of one rider's orders.

Exactly once, however many instances see the same accident: a proposal is made under a
per-rider lock after checking there is none (and a unique index on its alert and on a rider's
standing proposal backs that up); it is carried out, dismissed or undone only with its row
locked and in the state that allows it, so a second instance (or a dispatcher at the same
moment) finds it decided and does nothing. A human decision wins: an order that changed since
the proposal (another rider, another state) makes it overtaken, not carried out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import ACTIVE, AlertRow
from backend.alerts.rules import Rules
from backend.auth.principal import Principal
from backend.db import lock_key
from backend.errors import Conflict, NotFound, StaleVersion, Unprocessable
from backend.notifications.engine import insert_new
from backend.notifications.messages import render
from backend.notifications.models import PENDING
from backend.orders import records
from backend.orders import service as orders
from backend.orders.lifecycle import decide
from backend.orders.records import OrderRecord
from backend.realtime.outbox import append_event
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend.sql import sql_of
from backend.takeover import planning
from backend.takeover.models import TakeoverRow
from backend_client.models import (
    AssignRequest,
    OrderAction,
    OrderState,
    TakeoverChange,
    TakeoverMove,
    TakeoverProposal,
    TakeoverState,
)

TAKEOVER_LOCK = 0x46524C26
"""Advisory-lock namespace: proposals for one rider are made one at a time."""
S = TakeoverState


async def propose(
    session: AsyncSession,
    trigger: planning.Trigger,
    rules: Rules,
    *,
    actor: Principal,
    now: datetime,
) -> TakeoverRow | None:
    """The trigger's proposal, unless it has one, the rider has one standing, a dispatcher
    undid a handover of these orders before (they stay), or the rider carries nothing."""
    await lock_key(session, TAKEOVER_LOCK, f"rider:{trigger.rider_id}")
    taken = await session.scalar(
        select(TakeoverRow.id).where(
            (TakeoverRow.alert_id == trigger.alert_id)
            | ((TakeoverRow.rider_id == trigger.rider_id) & (TakeoverRow.state == S.PROPOSED))
        )
    )
    if taken is not None:
        return None
    moves = await planning.plan(session, trigger.rider_id, rules.auto_handover, now=now)
    if not moves:
        return None
    undone = await session.scalars(
        select(TakeoverRow.moves).where(
            TakeoverRow.rider_id == trigger.rider_id, TakeoverRow.state == S.UNDONE
        )
    )
    kept = {m["order_id"] for listed in undone.all() for m in listed}
    if kept & {m["order_id"] for m in moves}:
        return None  # a dispatcher gave these back to the rider: their call stands
    row = TakeoverRow(
        rider_id=trigger.rider_id,
        trigger=str(trigger.kind),
        alert_id=trigger.alert_id,
        reason=trigger.reason[:500],
        state=S.PROPOSED,
        moves=moves,
        proposed_at=now,
        due_at=now + timedelta(minutes=rules.auto_handover.minutes),
        version=1,
    )
    session.add(row)
    await session.flush()
    await announce(session, row, "proposed", actor=actor, now=now, reason=row.reason)
    return row


async def load(session: AsyncSession, takeover_id: int, *, lock: bool = False) -> TakeoverRow:
    row = await session.get(TakeoverRow, takeover_id, with_for_update=lock, populate_existing=lock)
    if row is None:
        raise NotFound(f"no handover proposal {takeover_id}")
    return row


def _check_version(row: TakeoverRow, version: int | None) -> None:
    if version is not None and version != row.version:
        raise StaleVersion(
            f"handover {row.id} is at version {row.version}, not {version}"
            + (f"; last changed by {row.decided_by or row.undone_by}" if row.version > 1 else ""),
            current_version=row.version,
        )


async def why_not_standing(session: AsyncSession, row: TakeoverRow) -> str | None:
    """Why a standing proposal no longer applies (someone decided first), or None."""
    if row.alert_id is not None:
        state = await session.scalar(select(AlertRow.state).where(AlertRow.id == row.alert_id))
        if state not in ACTIVE:
            return f"the alert behind it was closed ({state})"
    for move in row.moves:
        order = await records.load(sql_of(session), move["order_id"])
        if order is None or order.rider_id != row.rider_id or order.version != move["version"]:
            changed = await records.last_change(sql_of(session), move["order_id"])
            who = f" by {changed[0]}" if changed else ""
            return f"order {move['order_id']} changed since the proposal{who}"
    return None


async def overtake(
    session: AsyncSession, takeover_id: int, *, actor: Principal, now: datetime
) -> bool:
    """Mark a standing proposal overtaken if someone decided first; whether it was."""
    row = await load(session, takeover_id, lock=True)
    if row.state != S.PROPOSED:
        return False
    why = await why_not_standing(session, row)
    if why is None:
        return False
    mark(row, S.OVERTAKEN, actor, now, why)
    await announce(session, row, "overtaken", actor=actor, now=now, reason=why)
    return True


async def carry_out(
    session: AsyncSession,
    takeover_id: int,
    rules: Rules,
    *,
    actor: Principal,
    now: datetime,
    version: int | None = None,
    changes: list[TakeoverChange] | None = None,
    notify_zone: ZoneInfo | None,
) -> TakeoverRow | None:
    """Hand the orders over as proposed (with a dispatcher's `changes`). The system (no
    `version`) acts only on a standing, due proposal that still applies, else returns None
    (marking it overtaken when someone decided first); a dispatcher gets 409 instead. With
    `notify_zone` (notifications on), the customers are told, times in that zone."""
    row = await load(session, takeover_id, lock=True)
    by_system = version is None
    if row.state != S.PROPOSED:
        if by_system:
            return None  # another instance, or a dispatcher, decided it
        raise Conflict(f"handover {row.id} is {row.state}, not proposed", state=row.state)
    _check_version(row, version)
    if by_system and row.due_at > now:
        return None
    why = await why_not_standing(session, row)
    if why is not None and (by_system or not why.startswith("the alert")):
        if not by_system:
            raise Conflict(f"handover {row.id} no longer applies: {why}; reload")
        mark(row, S.OVERTAKEN, actor, now, why)
        await announce(session, row, "overtaken", actor=actor, now=now, reason=why)
        return row
    moves = [dict(m) for m in row.moves]
    await _apply_changes(session, moves, changes or [], row.rider_id)
    if not any(m["to_rider_id"] for m in moves):
        raise Conflict(f"handover {row.id} gives no order to anyone: nobody near has room")
    who = "automatically" if by_system else f"accepted by {actor.username}"
    reason = f"handover {row.id} ({who}): {row.reason}"
    moved: list[OrderRecord] = []
    for move in moves:
        taker = move["to_rider_id"]
        if taker is None:
            continue
        order = await orders.load_order(session, move["order_id"], actor, for_update=True)
        if order.rider_id != taker:  # else it rode along in a parcel given a moment ago
            request = AssignRequest(
                rider_id=taker,
                version=order.version,
                reason=reason[:500],
                resume=order.status == OrderState.EXCEPTION,
            )
            order = await orders.assign_rider(session, order.id, request, actor=actor, now=now)
        move["moved_version"] = order.version
        moved.append(order)
    row.moves = moves
    left = [m["order_id"] for m in moves if m["to_rider_id"] is None]
    outcome = f"carried out {who}" + (
        f"; nobody could take {', '.join(f'#{i}' for i in left)}" if left else ""
    )
    mark(row, S.CARRIED_OUT, actor, now, outcome)
    if notify_zone is not None and rules.notify.handover.enabled:
        await _tell_customers(session, row, moved, rules, notify_zone, now=now)
    await announce(session, row, "carried_out", actor=actor, now=now, reason=outcome)
    return row


async def _apply_changes(
    session: AsyncSession, moves: list[dict[str, Any]], changes: list[TakeoverChange], giver: int
) -> None:
    by_order = {m["order_id"]: m for m in moves}
    seen: set[int] = set()
    for change in changes:
        if change.order_id not in by_order:
            raise Unprocessable(f"changes: order {change.order_id} is not in this handover")
        if change.order_id in seen:
            raise Unprocessable(f"changes: order {change.order_id} is listed twice")
        if change.to_rider_id == giver:
            raise Unprocessable(f"changes: rider {giver} is the rider the orders are taken from")
        seen.add(change.order_id)
        rider = await session.get(RiderRow, change.to_rider_id)
        if rider is None:
            raise Unprocessable(f"changes: no rider {change.to_rider_id}")
        move = by_order[change.order_id]
        move.update(to_rider_id=rider.id, to_rider_name=rider.name, eta=None)


async def _tell_customers(
    session: AsyncSession,
    row: TakeoverRow,
    moved: list[OrderRecord],
    rules: Rules,
    zone: ZoneInfo,
    *,
    now: datetime,
) -> None:
    """Each moved order's customer, told once per handover (the notification outbox)."""
    etas = {
        order_id: eta
        for order_id, eta in await session.execute(
            select(DeliveryProgressRow.order_id, DeliveryProgressRow.eta_at).where(
                DeliveryProgressRow.order_id.in_([o.id for o in moved])
            )
        )
    }
    planned = {m["order_id"]: m.get("eta") for m in row.moves}
    notices = []
    for order in moved:
        eta = etas.get(order.id)
        estimate = planned.get(order.id)
        if eta is None and isinstance(estimate, str):
            eta = datetime.fromisoformat(estimate)
        message = render(
            rules.notify.handover.message,
            reference=order.external_id,
            eta=eta,
            promised=order.promised_at,
            zone=zone,
        )
        notices.append(
            {
                "order_id": order.id,
                "rule": f"handover:{row.id}",
                "message": message[:500],
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    await insert_new(session, notices)


async def dismiss(
    session: AsyncSession,
    takeover_id: int,
    *,
    actor: Principal,
    now: datetime,
    version: int,
    reason: str | None,
) -> TakeoverRow:
    """A dispatcher decided the orders stay with their rider (or will move them by hand)."""
    row = await load(session, takeover_id, lock=True)
    if row.state != S.PROPOSED:
        raise Conflict(f"handover {row.id} is {row.state}, not proposed", state=row.state)
    _check_version(row, version)
    outcome = f"dismissed by {actor.username}" + (f": {reason}" if reason else "")
    mark(row, S.DISMISSED, actor, now, outcome)
    await announce(session, row, "dismissed", actor=actor, now=now, reason=outcome)
    return row


async def undo(
    session: AsyncSession,
    takeover_id: int,
    *,
    actor: Principal,
    now: datetime,
    version: int | None,
    reason: str | None,
) -> TakeoverRow:
    """Give every moved order back to its rider, as it was (an order stopped in EXCEPTION is
    stopped again, its goods waiting for that rider where they were): all or none, and only
    while no order changed since it moved."""
    row = await load(session, takeover_id, lock=True)
    if row.state != S.CARRIED_OUT:
        raise Conflict(
            f"only a carried-out handover can be undone; handover {row.id} is {row.state}",
            state=row.state,
        )
    _check_version(row, version)
    moved = [m for m in row.moves if m["to_rider_id"] is not None and "moved_version" in m]
    back = []
    for move in moved:
        order = await orders.load_order(session, move["order_id"], actor, for_update=True)
        if order.rider_id != move["to_rider_id"] or order.version != move["moved_version"]:
            changed = await records.last_change(sql_of(session), order.id)
            raise Conflict(
                f"order {order.id} changed since the handover"
                + (f" (by {changed[0]})" if changed else "")
                + "; move it back by hand",
                order_id=order.id,
            )
        back.append((order, move))
    why = f"handover {row.id} undone by {actor.username}" + (f": {reason}" if reason else "")
    for order, move in back:
        if order.rider_id == row.rider_id:
            continue  # rode back in a parcel given back a moment ago
        request = AssignRequest(rider_id=row.rider_id, version=order.version, reason=why[:500])
        order = await orders.assign_rider(session, order.id, request, actor=actor, now=now)
        if move["status"] == OrderState.EXCEPTION and order.status == OrderState.DELIVERING:
            rule = decide(OrderState.DELIVERING, OrderAction.REPORT_EXCEPTION, str(actor.role))
            await orders.carry_out(session, order, rule, actor=actor, now=now, reason=why[:500])
    row.state, row.undone_at, row.undone_by = S.UNDONE, now, actor.username
    row.version += 1
    await announce(session, row, "undone", actor=actor, now=now, reason=why)
    return row


def mark(row: TakeoverRow, state: TakeoverState, actor: Principal, now: datetime, why: str) -> None:
    row.state, row.decided_at, row.decided_by = state, now, actor.username
    row.outcome = why[:300]
    row.version += 1


async def announce(
    session: AsyncSession,
    row: TakeoverRow,
    step: str,
    *,
    actor: Principal,
    now: datetime,
    reason: str,
) -> None:
    """The audit trail: one event per step, naming the orders and who takes them."""
    await session.flush()
    await append_event(
        session,
        kind=f"takeover.{step}",
        actor=actor,
        at=now,
        rider_id=row.rider_id,
        reason=reason[:500],
        payload={
            "id": row.id,
            "version": row.version,
            "state": row.state,
            "trigger": row.trigger,
            "alert_id": row.alert_id,
            "due_at": row.due_at.isoformat(),
            "moves": [
                {"order_id": m["order_id"], "to_rider_id": m["to_rider_id"]} for m in row.moves
            ],
        },
    )


async def views(session: AsyncSession, rows: list[TakeoverRow]) -> list[TakeoverProposal]:
    names = (
        {
            rider_id: name
            for rider_id, name in await session.execute(
                select(RiderRow.id, RiderRow.name).where(
                    RiderRow.id.in_(sorted({r.rider_id for r in rows}))
                )
            )
        }
        if rows
        else {}
    )
    return [
        TakeoverProposal(
            id=row.id,
            rider_id=row.rider_id,
            rider_name=names.get(row.rider_id, f"rider {row.rider_id}"),
            trigger=row.trigger,
            alert_id=row.alert_id,
            reason=row.reason,
            state=row.state,
            moves=[TakeoverMove.model_validate(m) for m in row.moves],
            proposed_at=row.proposed_at,
            due_at=row.due_at,
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            outcome=row.outcome,
            undone_at=row.undone_at,
            undone_by=row.undone_by,
            version=row.version,
        )
        for row in rows
    ]


async def listing(
    session: AsyncSession, *, states: list[TakeoverState] | None, since: datetime | None, limit: int
) -> list[TakeoverRow]:
    """Newest first."""
    query = select(TakeoverRow).order_by(TakeoverRow.id.desc()).limit(limit)
    if states:
        query = query.where(TakeoverRow.state.in_([str(s) for s in states]))
    if since is not None:
        query = query.where(TakeoverRow.proposed_at >= since)
    return list((await session.scalars(query)).all())
