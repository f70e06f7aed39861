"""Daily reconciliation per channel: the orders and amounts we hold against what the channel
reported (its orders' amounts, its callbacks, its own daily statement), and every difference.

A business day runs midnight to midnight in the business time zone (`time_zone`, Beijing time
by default). Differences, one line each: an order whose amount at our prices differs from the
channel's; one the channel cancelled and we did not (too late); one we cancelled and the
channel did not (short of stock, payment window, the desk): the channel must refund it; a
payment for an order already cancelled; a refund the customer asked for; a callback whose order
never arrived; an order the channel never sent us (taken by `POST /orders`); and the
statement's count and amount against ours.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.channels.models import ChannelCallbackRow, ChannelOrderRow, ChannelStatementRow
from backend.orders.models import OrderRow
from backend_client.models import (
    CallbackOutcome,
    Channel,
    ChannelReconciliation,
    ChannelTotals,
    OrderState,
    ReconciliationDifference,
)

CANCELLING = ("cancelled", "refund_requested")
CSV_COLUMNS = ("channel", "day", "kind", "external_id", "order_id", "ours", "theirs", "detail")


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The business day as a UTC interval [start, end) (23 or 25 hours across a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


async def reconcile(
    session: AsyncSession, channel: Channel, day: date, *, zone: tzinfo
) -> ChannelReconciliation:
    """One channel's business day, with its differences."""
    start, end = day_bounds(day, zone)
    held = list(
        (
            await session.scalars(
                select(OrderRow)
                .where(
                    OrderRow.channel == channel,
                    OrderRow.created_at >= start,
                    OrderRow.created_at < end,
                )
                .order_by(OrderRow.id)
            )
        ).all()
    )
    by_id = {o.id: o for o in held}
    external = {o.external_id: o for o in held}
    receipts = {
        r.order_id: r
        for r in await session.scalars(
            select(ChannelOrderRow).where(
                ChannelOrderRow.channel == channel,
                or_(
                    ChannelOrderRow.order_id.in_(list(by_id)),
                    ChannelOrderRow.received_at.between(start, end),
                ),
            )
        )
    }
    callbacks = list(
        (
            await session.scalars(
                select(ChannelCallbackRow)
                .where(
                    ChannelCallbackRow.channel == channel,
                    or_(
                        ChannelCallbackRow.external_id.in_(list(external)),
                        ChannelCallbackRow.received_at.between(start, end),
                    ),
                )
                .order_by(ChannelCallbackRow.occurred_at, ChannelCallbackRow.id)
            )
        ).all()
    )
    statement_row = await session.scalar(
        select(ChannelStatementRow).where(
            ChannelStatementRow.channel == channel, ChannelStatementRow.day == day
        )
    )

    differences: list[ReconciliationDifference] = []
    cancelled = [o for o in held if o.status == OrderState.CANCELLED]
    said_cancel = {c.external_id for c in callbacks if c.kind in CANCELLING}
    for order in held:
        receipt = receipts.get(order.id)
        if receipt is None:
            differences.append(_diff("not_reported", order, order.amount_cents, None,
                                     "taken here, never sent by the channel"))  # fmt: skip
        elif receipt.reported_amount_cents != order.amount_cents:
            gap = receipt.reported_amount_cents - order.amount_cents
            differences.append(
                _diff("amount", order, order.amount_cents, receipt.reported_amount_cents,
                      f"the channel's amount is {gap / 100:+.2f} yuan off our prices")
            )  # fmt: skip
        if order.status == OrderState.CANCELLED and order.external_id not in said_cancel:
            differences.append(
                _diff("cancelled_here", order, order.amount_cents,
                      receipt.reported_amount_cents if receipt else None,
                      "cancelled here (stock, payment window or the desk), not by the "
                      "channel: it must close or refund the order")
            )  # fmt: skip
    for callback in callbacks:
        known = external.get(callback.external_id)
        if callback.outcome == CallbackOutcome.PENDING:
            differences.append(ReconciliationDifference(
                kind="callback_without_order", external_id=callback.external_id,
                order_id=None, ours=None, theirs=callback.amount_cents,
                detail=f"{callback.kind} called back, the order never arrived",
            ))  # fmt: skip
        elif known is None:
            continue  # about an order of another day: that day's report has it
        elif callback.kind == "cancelled" and callback.outcome == CallbackOutcome.REFUSED:
            detail = callback.detail or "cancelled by the channel, not here"
            differences.append(
                _diff("cancelled_by_channel", known, known.amount_cents, None, detail)
            )
        elif callback.kind == "paid" and callback.outcome == CallbackOutcome.REFUSED:
            differences.append(_diff("paid_after_cancel", known, None, known.amount_cents,
                                     callback.detail or "paid after it was cancelled"))  # fmt: skip
        elif callback.kind == "refund_requested":
            differences.append(_diff("refund_requested", known, None, callback.amount_cents,
                                     callback.reason or "refund requested"))  # fmt: skip

    kept = [o for o in held if o.status != OrderState.CANCELLED]
    kept_reported = sum(
        receipts[o.id].reported_amount_cents if o.id in receipts else o.amount_cents for o in kept
    )
    statement = None
    if statement_row is not None:
        statement = ChannelTotals(
            orders=statement_row.orders, amount_cents=statement_row.amount_cents
        )
        if statement.orders != len(kept):
            differences.append(ReconciliationDifference(
                kind="statement_orders", external_id=None, order_id=None, ours=len(kept),
                theirs=statement.orders,
                detail=f"the statement counts {statement.orders} orders, we delivered or "
                       f"hold {len(kept)}",
            ))  # fmt: skip
        if statement.amount_cents != kept_reported:
            differences.append(ReconciliationDifference(
                kind="statement_amount", external_id=None, order_id=None, ours=kept_reported,
                theirs=statement.amount_cents,
                detail=f"the statement says {statement.amount_cents / 100:.2f} yuan, its "
                       f"orders we hold come to {kept_reported / 100:.2f}",
            ))  # fmt: skip
    refunds = [c for c in callbacks if c.kind == "refund_requested" and c.external_id in external]
    day_receipts = [r for r in receipts.values() if start <= r.received_at < end]
    return ChannelReconciliation(
        channel=channel,
        day=day,
        held=_totals(held),
        held_cancelled=_totals(cancelled),
        reported=ChannelTotals(
            orders=len(day_receipts),
            amount_cents=sum(r.reported_amount_cents for r in day_receipts),
        ),
        reported_cancelled=sum(
            1 for c in callbacks if c.kind == "cancelled" and c.external_id in external
        ),
        refunds_requested=ChannelTotals(
            orders=len(refunds), amount_cents=sum(c.amount_cents or 0 for c in refunds)
        ),
        statement=statement,
        differences=differences,
    )


def as_csv(reports: list[ChannelReconciliation]) -> str:
    """The difference reports as CSV: the day's totals first, then one line per difference."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        base = (str(report.channel), report.day.isoformat())
        totals = {
            "total_held": (report.held, None),
            "total_held_cancelled": (report.held_cancelled, None),
            "total_reported": (None, report.reported),
            "total_refunds_requested": (None, report.refunds_requested),
            "total_statement": (None, report.statement),
        }
        for kind, (ours, theirs) in totals.items():
            writer.writerow(
                (*base, kind, "", "", _amount(ours), _amount(theirs), _count(ours or theirs))
            )
        for d in report.differences:
            writer.writerow(
                (*base, d.kind, d.external_id or "", d.order_id or "", _cell(d.ours),
                 _cell(d.theirs), d.detail)
            )  # fmt: skip
    return out.getvalue()


def _diff(
    kind: str, order: OrderRow, ours: int | None, theirs: int | None, detail: str
) -> ReconciliationDifference:
    return ReconciliationDifference(
        kind=kind,
        external_id=order.external_id,
        order_id=order.id,
        ours=ours,
        theirs=theirs,
        detail=detail,
    )


def _totals(orders: list[OrderRow]) -> ChannelTotals:
    return ChannelTotals(orders=len(orders), amount_cents=sum(o.amount_cents for o in orders))


def _amount(totals: ChannelTotals | None) -> str:
    return "" if totals is None else str(totals.amount_cents)


def _count(totals: ChannelTotals | None) -> str:
    return "" if totals is None else f"{totals.orders} orders"


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)
