"""The daily per-channel reconciliation: what each channel sent against what we recorded, in
counts and amounts, and how those orders ended (paid, signed, cancelled, returned, claimed).

"What the channel sent" comes from a `StatementSource`. Until channels report their own day
(channel intake), it is `IntakeStatements`: the orders each channel's own account created
through POST /orders, read from the event log. A source of channel-reported totals (and, when
known, their order ids) plugs in through the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal, Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kpi.orders import count_if
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend_client.models import (
    Channel,
    ChannelLedger,
    LedgerLine,
    OrderState,
    ReconciliationReport,
    Role,
)

S = OrderState
LISTED = 50
"""At most this many unmatched channel order ids are listed per channel and side."""


@dataclass(frozen=True, slots=True)
class ChannelStatement:
    """One channel's account of a day: totals, and its order ids when it gives them."""

    line: LedgerLine
    external_ids: frozenset[str] | None = None


class StatementSource(Protocol):
    """Where "what the channel sent" comes from."""

    kind: Literal["intake", "statement"]

    async def statements(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> dict[str, ChannelStatement]: ...


class IntakeStatements:
    """What each channel's own account created through POST /orders, from the event log."""

    kind: Literal["intake", "statement"] = "intake"

    async def statements(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> dict[str, ChannelStatement]:
        query = (
            select(
                OrderRow.channel,
                func.count().label("orders"),
                func.coalesce(func.sum(OrderRow.amount_cents), 0).label("amount_cents"),
            )
            .select_from(EventRow)
            .join(OrderRow, OrderRow.id == EventRow.order_id)
            .where(
                EventRow.kind == "order.created",
                EventRow.role == Role.CHANNEL,
                EventRow.at >= start,
                EventRow.at < end,
            )
            .group_by(OrderRow.channel)
        )
        return {
            row.channel: ChannelStatement(
                LedgerLine(orders=row.orders, amount_cents=row.amount_cents)
            )
            for row in await session.execute(query)
        }

    async def unsent(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> dict[str, list[str]]:
        """Channel order ids recorded that day that no channel account sent (an admin keyed
        them in on the channel's behalf)."""
        query = (
            select(OrderRow.channel, OrderRow.external_id)
            .join(
                EventRow,
                and_(EventRow.order_id == OrderRow.id, EventRow.kind == "order.created"),
            )
            .where(
                OrderRow.created_at >= start,
                OrderRow.created_at < end,
                EventRow.role != Role.CHANNEL,
            )
            .order_by(OrderRow.channel, OrderRow.id)
        )
        found: dict[str, list[str]] = {}
        for channel, external_id in await session.execute(query):
            found.setdefault(channel, []).append(external_id)
        return found


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, in UTC."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def reconcile(
    session: AsyncSession,
    day: date,
    zone: tzinfo,
    zone_name: str,
    source: StatementSource | None = None,
) -> ReconciliationReport:
    """The report for one local day."""
    source = source or IntakeStatements()
    start, end = day_bounds(day, zone)
    recorded = await _recorded(session, start, end)
    statements = await source.statements(session, start, end)
    unsent = (
        await source.unsent(session, start, end) if isinstance(source, IntakeStatements) else {}
    )
    channels = []
    for channel in Channel:
        ours = recorded.get(channel)
        theirs = statements.get(channel)
        if ours is None and theirs is None:
            continue
        ours = ours or _Recorded.empty()
        sent = theirs.line if theirs is not None else LedgerLine()
        only_recorded, only_sent = unsent.get(channel, []), []
        if theirs is not None and theirs.external_ids is not None:
            held = set(await _recorded_ids(session, channel, start, end))
            only_recorded = sorted(held - theirs.external_ids)
            only_sent = sorted(theirs.external_ids - held)
        difference = LedgerLine(
            orders=ours.total.orders - sent.orders,
            amount_cents=ours.total.amount_cents - sent.amount_cents,
        )
        channels.append(
            ChannelLedger(
                channel=channel,
                sent=sent,
                sent_source=source.kind,
                recorded=ours.total,
                difference=difference,
                matches=difference == LedgerLine() and not only_recorded and not only_sent,
                only_recorded=only_recorded[:LISTED],
                only_sent=only_sent[:LISTED],
                paid=ours.paid,
                signed=ours.signed,
                cancelled=ours.cancelled,
                returned=ours.returned,
                claimed=ours.claimed,
                open=ours.open,
            )
        )
    return ReconciliationReport(
        day=day,
        tz=zone_name,
        start=start,
        end=end,
        channels=channels,
        sent=_sum(c.sent for c in channels),
        recorded=_sum(c.recorded for c in channels),
        matches=all(c.matches for c in channels),
    )


@dataclass(frozen=True, slots=True)
class _Recorded:
    total: LedgerLine
    paid: LedgerLine
    signed: LedgerLine
    cancelled: LedgerLine
    returned: LedgerLine
    claimed: LedgerLine
    open: LedgerLine

    @classmethod
    def empty(cls) -> _Recorded:
        zero = LedgerLine()
        return cls(zero, zero, zero, zero, zero, zero, zero)


# How a recorded order ended (as of now); every order falls in exactly one of these.
_ENDINGS = {
    "signed": (S.SIGNED,),
    "cancelled": (S.CANCELLED,),
    "returned": (S.RETURNING, S.RETURNED),
    "claimed": (S.CLAIMING, S.CLAIM_SETTLED),
}


async def _recorded(session: AsyncSession, start: datetime, end: datetime) -> dict[str, _Recorded]:
    o = OrderRow
    ended = [state for states in _ENDINGS.values() for state in states]
    groups = {
        "paid": o.paid_at.is_not(None),
        **{name: o.status.in_(states) for name, states in _ENDINGS.items()},
        "open": o.status.not_in(ended),
    }
    columns = [o.channel, func.count().label("orders"), func.sum(o.amount_cents).label("amount")]
    for name, condition in groups.items():
        columns.append(count_if(condition).label(f"{name}_orders"))
        columns.append(
            func.coalesce(func.sum(o.amount_cents).filter(condition), 0).label(f"{name}_amount")
        )
    query = select(*columns).where(o.created_at >= start, o.created_at < end).group_by(o.channel)
    result = {}
    for row in (await session.execute(query)).mappings():
        lines = {
            name: LedgerLine(orders=row[f"{name}_orders"], amount_cents=row[f"{name}_amount"])
            for name in groups
        }
        total = LedgerLine(orders=row["orders"], amount_cents=row["amount"] or 0)
        result[row["channel"]] = _Recorded(total=total, **lines)
    return result


async def _recorded_ids(
    session: AsyncSession, channel: str, start: datetime, end: datetime
) -> list[str]:
    query = select(OrderRow.external_id).where(
        OrderRow.channel == channel, OrderRow.created_at >= start, OrderRow.created_at < end
    )
    return list((await session.scalars(query)).all())


def _sum(lines: Iterable[LedgerLine]) -> LedgerLine:
    total = LedgerLine()
    for line in lines:
        total = LedgerLine(
            orders=total.orders + line.orders, amount_cents=total.amount_cents + line.amount_cents
        )
    return total
