"""The commands that change something, through the API as the signed-in user: the server checks
the permission, the version and the lifecycle, and writes the audit trail, exactly as for the
console's keys. A refusal (403, 404, 409, 422) becomes `CommandRefused` with the server's
words; nothing here retries a refused write."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from backend_client import (
    ApiError,
    Conflict,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
)
from backend_client.models import OrderAction, OrderState
from console.command_line.registry import Answer, CommandRefused, Parsed, Send, Session
from console.order_words import ACTION_WORDS

T = TypeVar("T")


async def answered(call: Awaitable[T], subject: str) -> T:
    """The server's answer, or its refusal in words."""
    try:
        return await call
    except NotFound:
        raise CommandRefused(f"there is no {subject}") from None
    except PermissionDenied as exc:
        raise CommandRefused(f"the server refused: {exc.detail}") from None
    except Conflict as exc:
        by = f" (changed by {exc.changed_by})" if exc.changed_by else ""
        raise CommandRefused(f"{subject}: {exc.detail}{by}") from None
    except ApiError as exc:
        raise CommandRefused(f"{subject}: {exc}") from None
    except ConnectionFailed as exc:
        raise CommandRefused(f"cannot reach the server: {exc}") from None


async def _order(session: Session, order_id: int) -> tuple[int, str]:
    """(version, state) as the console shows the order, else as the server has it now."""
    seen = session.seen_order(order_id)
    if seen is not None:
        return seen
    order = await answered(session.client.orders.get(order_id), f"order {order_id}")
    return order.version, str(order.status)


async def _rider_name(session: Session, rider_id: int) -> str:
    rider = await answered(session.client.riders.get(rider_id), f"rider #{rider_id}")
    return rider.name


async def assign(session: Session, parsed: Parsed) -> Answer:
    """`assign ORDER RIDER`: the order to that rider; stopped in EXCEPTION, resumed with them
    (as the exception queue's reassign does)."""
    return await _give(session, parsed.number("order"), parsed.number("rider"))


async def reassign(session: Session, parsed: Parsed) -> Answer:
    """`reassign ORDER (RIDER | --best)`: to that rider, or to the first of the server's
    suggestions (online, with room, cold chain if needed, the earliest arrival)."""
    order_id = parsed.number("order")
    one_rider(parsed)
    if parsed.has("rider"):
        return await _give(session, order_id, parsed.number("rider"))
    suggestions = await answered(
        session.client.orders.rider_suggestions(order_id, limit=1), f"order {order_id}"
    )
    if not suggestions:
        raise CommandRefused(
            f"nobody can take order {order_id} now (online, with room, a cold-chain box if needed)"
        )
    best = suggestions[0]
    answer = await _give(session, order_id, best.rider.id, best.rider.name)
    data = {**answer.data, "eta_minutes": best.eta_minutes, "distance_m": best.distance_m}
    return Answer(f"{answer.text} (best: ETA {best.eta_minutes:.0f} min)", data)


def one_rider(parsed: Parsed) -> None:
    """`reassign`'s words: a rider or --best, one of them."""
    if parsed.has("rider") and parsed.flag("best"):
        raise CommandRefused("give a rider or --best, not both")
    if not parsed.has("rider") and not parsed.flag("best"):
        order_id = parsed.number("order")
        raise CommandRefused(f"to whom? `reassign {order_id} RIDER`, or `--best`")


async def _give(session: Session, order_id: int, rider_id: int, name: str = "") -> Answer:
    version, state = await _order(session, order_id)
    name = name or await _rider_name(session, rider_id)
    resume = state == OrderState.EXCEPTION
    order = await answered(
        session.client.orders.assign(
            order_id, rider_id, version, reason=f"assigned from {session.via}", resume=resume
        ),
        f"order {order_id}",
    )
    resumed = " and resumed the delivery" if resume else ""
    return Answer(
        f"Order {order_id} given to {name}{resumed}.",
        {
            "order_id": order_id,
            "rider_id": rider_id,
            "rider": name,
            "resumed": resume,
            "status": str(order.status),
            "version": order.version,
        },
    )


def transition(action: OrderAction) -> Send:
    """`ACTION ORDER [REASON]`: one lifecycle step, from the version the console shows."""

    async def send(session: Session, parsed: Parsed) -> Answer:
        order_id = parsed.number("order")
        version, _ = await _order(session, order_id)
        reason = parsed.word("reason") or None
        order = await answered(
            session.client.orders.transition(order_id, action, version, reason=reason),
            f"order {order_id}",
        )
        words = ACTION_WORDS.get(action, str(action))
        return Answer(
            f"{words}: order {order_id} is now {order.status}.",
            {
                "order_id": order_id,
                "action": str(action),
                "status": str(order.status),
                "version": order.version,
            },
        )

    return send


async def _alert_version(session: Session, alert_id: int) -> int:
    seen = session.seen_alert(alert_id)
    if seen is not None:
        return seen
    alert = await answered(session.client.alerts.get(alert_id), f"alert {alert_id}")
    return alert.version


async def acknowledge(session: Session, parsed: Parsed) -> Answer:
    """`ack ALERT [NOTE]`: taken on, with a note for the others."""
    alert_id = parsed.number("alert")
    version = await _alert_version(session, alert_id)
    note = parsed.word("note") or None
    alert = await answered(
        session.client.alerts.acknowledge(alert_id, version, note=note), f"alert {alert_id}"
    )
    return Answer(
        f"Alert {alert_id} acknowledged.",
        {"alert_id": alert_id, "state": str(alert.state), "version": alert.version},
    )


async def snooze(session: Session, parsed: Parsed) -> Answer:
    """`snooze ALERT MINUTES [NOTE]`."""
    alert_id, minutes = parsed.number("alert"), parsed.number("minutes")
    version = await _alert_version(session, alert_id)
    note = parsed.word("note") or None
    alert = await answered(
        session.client.alerts.snooze(alert_id, version, minutes, note=note), f"alert {alert_id}"
    )
    return Answer(
        f"Alert {alert_id} snoozed for {minutes} min.",
        {"alert_id": alert_id, "state": str(alert.state), "version": alert.version},
    )


async def move(session: Session, parsed: Parsed) -> Answer:
    """`move RIDER ZONE [REASON]`: the rider to another zone's warehouse."""
    rider_id, zone = parsed.number("rider"), parsed.word("zone")
    reason = parsed.word("reason") or None
    rider = await answered(
        session.client.riders.move_to_zone(rider_id, zone, reason=reason), f"rider #{rider_id}"
    )
    return Answer(
        f"{rider.name} moved to {zone}.",
        {"rider_id": rider_id, "zone": zone, "warehouse_id": rider.warehouse_id},
    )


def decide(approve: bool) -> Send:
    """`approve ALERT` / `reject ALERT REASON`: the return or claim behind the alert, from the
    request's own version (as the queue's `p` and `x`)."""

    async def send(session: Session, parsed: Parsed) -> Answer:
        alert_id = parsed.number("alert")
        alert = await answered(session.client.alerts.get(alert_id), f"alert {alert_id}")
        if alert.request_id is None:
            raise CommandRefused(f"no return or claim waits behind alert {alert_id}")
        subject = f"request {alert.request_id}"
        request = await answered(session.client.requests.get(alert.request_id), subject)
        decided = await answered(
            session.client.requests.decide(
                request.id, request.version, approve=approve, reason=parsed.word("reason") or None
            ),
            subject,
        )
        verb = "Approved" if approve else "Rejected"
        amount = f" ({decided.amount_cents / 100:.2f})" if decided.amount_cents else ""
        return Answer(
            f"{verb}: the {decided.kind} of order {decided.order_id}{amount}, alert {alert_id}.",
            {
                "alert_id": alert_id,
                "request_id": decided.id,
                "kind": str(decided.kind),
                "state": str(decided.state),
                "amount_cents": decided.amount_cents,
            },
        )

    return send
