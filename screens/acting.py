"""Acting on orders from any screen: choose an action the server offers, give a reason when
one is needed, send each order's transition with its version, and say how it went.

Runs inside a worker (it waits on dialogs). Success shows up through the stream like any other
change; refusals (403, 409, 422) become notifications, never crashes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import Screen

from backend_client import (
    ApiError,
    Conflict,
    ConnectionFailed,
    FreshlineClient,
    NotFound,
    PermissionDenied,
)
from backend_client.models import OrderAction
from console.host import client_of, host
from console.store import Store
from screens.dialogs import (
    ACTION_WORDS,
    CANNOT_UNDO,
    FINAL_ACTIONS,
    NEEDS_REASON,
    ActionPicker,
    ConfirmDialog,
    ReasonDialog,
)

AT_ONCE = 8


async def act_on_orders(screen: Screen[Any], order_ids: list[int]) -> None:
    app = screen.app
    client, store = client_of(app), host(app).store
    subject = f"order {order_ids[0]}" if len(order_ids) == 1 else f"{len(order_ids)} orders"
    try:
        offered = await _common_actions(client, order_ids)
    except ConnectionFailed as exc:
        app.notify(f"Cannot reach the server: {exc}", severity="error")
        return
    if not offered:
        app.notify(f"Nothing your role may do to {subject} now.", severity="warning")
        return
    action = await app.push_screen_wait(ActionPicker(offered, subject))
    if action is None:
        return
    reason = None
    if action in NEEDS_REASON:
        reason = await app.push_screen_wait(ReasonDialog(f"{ACTION_WORDS[action]}: why?"))
        if reason is None:
            return
    if (action in FINAL_ACTIONS or len(order_ids) > 1) and not await app.push_screen_wait(
        confirmation(store, order_ids, action)
    ):
        return
    results = await _send(client, store, order_ids, action, reason)
    report(app, ACTION_WORDS.get(action, action), subject, results)


def confirmation(store: Store, order_ids: list[int], action: OrderAction) -> ConfirmDialog:
    """The question before a final or bulk action: which orders, for whom."""
    words = ACTION_WORDS.get(action, str(action))

    def who(order_id: int) -> str:
        card = store.orders.get(order_id)
        return f"order {order_id} for {card.customer}" if card else f"order {order_id}"

    if action in FINAL_ACTIONS:
        consequence = f"The order's story ends here. {CANNOT_UNDO}"
    else:
        consequence = "Each order moves on by itself; there is no undo, only the next action."
    if len(order_ids) == 1:
        return ConfirmDialog(f"{words}: {who(order_ids[0])}?", consequence=consequence)
    return ConfirmDialog(
        f"{words}: all {len(order_ids)} marked orders?",
        items=[who(i) for i in order_ids],
        consequence=consequence,
        yes=f"{words.lower()} all {len(order_ids)}",
    )


async def _common_actions(client: FreshlineClient, order_ids: list[int]) -> list[OrderAction]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def offered(order_id: int) -> set[OrderAction]:
        async with gate:
            try:
                return set(await client.orders.actions(order_id))
            except (NotFound, PermissionDenied):
                return set()

    sets = await asyncio.gather(*(offered(i) for i in order_ids))
    common = set.intersection(*sets) if sets else set()
    return [a for a in OrderAction if a in common]


async def _send(
    client: FreshlineClient,
    store: Store,
    order_ids: list[int],
    action: OrderAction,
    reason: str | None,
) -> list[Outcome]:
    async def one(order_id: int) -> None:
        card = store.orders.get(order_id)
        version = card.version if card else (await client.orders.get(order_id)).version
        await client.orders.transition(order_id, action, version, reason=reason)

    return await each(order_ids, one)


Outcome = tuple[int, str, str | None]
"""(id, done / conflict / denied / failed, what the server said)."""


async def each(ids: list[int], call: Callable[[int], Awaitable[object]]) -> list[Outcome]:
    """`call(id)` for every id, a few at a time; refusals are outcomes, never exceptions."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(item_id: int) -> Outcome:
        async with gate:
            try:
                await call(item_id)
                return item_id, "done", None
            except Conflict as exc:
                by = f" (changed by {exc.changed_by})" if exc.changed_by else ""
                return item_id, "conflict", f"{exc.detail}{by}"
            except PermissionDenied as exc:
                return item_id, "denied", str(exc.detail)
            except (ApiError, ConnectionFailed) as exc:
                return item_id, "failed", str(exc)

    return list(await asyncio.gather(*(one(i) for i in ids)))


def report(app: App[Any], what: str, subject: str, results: list[Outcome]) -> None:
    """One notification: all done, or what was refused and why."""
    counts = Counter(outcome for _, outcome, _ in results)
    if counts["done"] == len(results):
        app.notify(f"{what}: {subject} done.", title="Sent")
        return
    lines = [f"{what}: {counts['done']} of {len(results)} done."]
    for item_id, outcome, detail in results:
        if outcome != "done" and len(lines) < 6:
            lines.append(f"#{item_id} {outcome}: {detail}")
    severity: SeverityLevel = "error" if counts["denied"] or counts["failed"] else "warning"
    app.notify("\n".join(lines), title="Not everything went through", severity=severity)
