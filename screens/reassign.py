"""Reassigning from the exception queue: an order to another rider, or every order a rider
carries to one other rider (a handover), chosen from the ranked suggestions with the ETA each
would give, and confirmed before anything is sent.

Runs inside a worker (it waits on dialogs).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from backend_client import FreshlineClient, FreshlineError
from backend_client.models import OrderState, RiderSuggestion
from console.store import OrderCard, Store
from screens.acting import each, report
from screens.dialogs import ConfirmDialog, Dialog
from widgets.order_row import minutes

S = OrderState
CARRIED = (S.PAID, S.PICKING, S.OUT_OF_STOCK, S.DELIVERING, S.EXCEPTION)
"""States in which an order is a rider's to hand over (it holds a slot of theirs)."""


def suggestion_line(
    suggestion: RiderSuggestion, now: datetime, promised: datetime | None, zone: tzinfo | None
) -> str:
    """E.g. "Wang Wei  1.2 km  carrying 1/4  ❄  ETA 12:41, 9m early"."""
    rider = suggestion.rider
    eta = now + timedelta(minutes=suggestion.eta_minutes)
    line = (
        f"{rider.name:<14} {suggestion.distance_m / 1000:4.1f} km  "
        f"carrying {rider.active_orders}/{rider.capacity}  {'❄' if rider.cold_chain else ' '}  "
        f"ETA {eta.astimezone(zone):%H:%M}"
    )
    if promised is not None:
        slack = promised - eta
        early = slack.total_seconds() >= 0
        line += f", {minutes(slack)} early" if early else f", LATE by {minutes(slack)}"
    return line


class ReassignDialog(Dialog):
    """The riders who could take it, best first, each with the ETA it would get."""

    DEFAULT_CSS = "ReassignDialog > Vertical { width: 90; }"

    def __init__(self, title: str, lines: list[tuple[int, str]]) -> None:
        super().__init__()
        self.title_text, self.lines = title, lines

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield OptionList(*(Option(text, id=str(rider_id)) for rider_id, text in self.lines))
            yield Label("best first · enter chooses · esc cancels", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))


def _parts(screen: Screen) -> tuple[FreshlineClient, Store, tzinfo | None]:
    app = screen.app
    return app.client, app.store, getattr(app, "zone", None)  # type: ignore[attr-defined]


async def reassign_order(screen: Screen, order_id: int) -> None:
    app = screen.app
    client, store, zone = _parts(screen)
    try:
        suggestions = await client.rider_suggestions(order_id, limit=8)
        card = store.orders.get(order_id) or OrderCard.of(await client.order(order_id))
    except FreshlineError as exc:
        app.notify(f"Cannot reassign order {order_id}: {exc}", severity="error")
        return
    if not suggestions:
        app.notify(
            f"Nobody can take order {order_id} now (online, with room, a cold-chain box if "
            "needed).",
            severity="warning",
        )
        return
    now = store.clock.now()
    lines = [(s.rider.id, suggestion_line(s, now, card.promised_at, zone)) for s in suggestions]
    title = f"Order {order_id} (promised {card.promised_at.astimezone(zone):%H:%M}): to whom?"
    rider_id = await app.push_screen_wait(ReassignDialog(title, lines))
    if rider_id is None:
        return
    chosen = next(s for s in suggestions if s.rider.id == rider_id)
    question = f"Give order {order_id} to {chosen.rider.name}? {dict(lines)[rider_id].strip()}"
    if not await app.push_screen_wait(ConfirmDialog(question)):
        return
    results = await each(
        [order_id],
        lambda i: client.assign(
            i, rider_id, card.version, reason="reassigned from the exception queue"
        ),
    )
    report(app, f"Reassign to {chosen.rider.name}", f"order {order_id}", results)


async def hand_over(screen: Screen, rider_id: int) -> None:
    """Every order the rider carries, in their sequence (most urgent first), to one rider
    with room for all of them."""
    app = screen.app
    client, store, zone = _parts(screen)
    carried = sorted(
        (c for c in store.orders.values() if c.rider_id == rider_id and c.status in CARRIED),
        key=lambda c: (c.promised_at, c.id),
    )
    name = store.rider_name(rider_id)
    if not carried:
        app.notify(f"Rider {name} carries no orders to hand over.", severity="warning")
        return
    cold = any(c.cold_chain for c in carried)
    try:
        suggestions = await client.rider_suggestions(carried[0].id, limit=20)
        giver = await client.rider(rider_id)
    except FreshlineError as exc:
        app.notify(f"Cannot hand over rider {name}'s orders: {exc}", severity="error")
        return
    # Room is counted in parcels: merged orders ride in one and take one slot, so the taker
    # needs no more slots than the giver fills.
    parcels = min(len(carried), giver.active_orders) or len(carried)
    able = [
        s
        for s in suggestions
        if s.rider.capacity - s.rider.active_orders >= parcels and (s.rider.cold_chain or not cold)
    ]
    if not able:
        app.notify(
            f"Nobody online has room for {name}'s {parcels} parcel(s) now.",
            severity="warning",
        )
        return
    now = store.clock.now()
    first = carried[0].promised_at
    lines = [(s.rider.id, suggestion_line(s, now, first, zone)) for s in able]
    ids = ", ".join(f"#{c.id}" for c in carried)
    title = f"Hand {name}'s {len(carried)} order(s) ({ids}) to whom?"
    taker = await app.push_screen_wait(ReassignDialog(title, lines))
    if taker is None:
        return
    taker_name = next(s.rider.name for s in able if s.rider.id == taker)
    if not await app.push_screen_wait(
        ConfirmDialog(f"Hand {ids} from {name} to {taker_name}, in this order?")
    ):
        return
    listing = [(c.id, c.version) for c in carried]
    results = await each(
        [rider_id],
        lambda i: client.hand_over(i, taker, listing, reason=f"{name}'s orders to {taker_name}"),
    )
    report(app, f"Hand over to {taker_name}", f"{len(carried)} order(s) of {name}", results)
