"""Reassigning from the exception queue: an order to another rider (and, stopped in EXCEPTION,
resumed with them in the same step), or every order a rider carries to one other rider (a
handover), chosen from the ranked suggestions with the ETA each would give, and confirmed
before anything is sent.

Runs inside a worker (it waits on dialogs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from backend_client import FreshlineClient, FreshlineError
from backend_client.models import OrderState, RiderSuggestion
from console.alert_words import plural
from console.host import client_of, host
from console.store import OrderCard, Store
from console.takeover_words import what_if_text
from screens.acting import each, report
from screens.dialogs import ConfirmDialog, Dialog
from widgets.order_row import minutes

S = OrderState
CARRIED = (S.PAID, S.PICKING, S.OUT_OF_STOCK, S.DELIVERING, S.EXCEPTION)
"""States in which an order is a rider's to hand over (it holds a slot of theirs)."""
ON_THE_ROAD = (S.DELIVERING, S.EXCEPTION)
"""The goods left the warehouse: a new rider collects them where they are."""


def suggestion_line(
    suggestion: RiderSuggestion, now: datetime, promised: datetime | None, zone: tzinfo | None
) -> str:
    """E.g. "Wang Wei  1.2 km  carrying 1/4  ❄  ETA 12:41, 9m early"; with the server's
    what-if, the ETA on the rider's route as it would be, and what it does to the route
    ("· stop 2 of 3, makes #1007 late")."""
    rider = suggestion.rider
    what_if = suggestion.what_if
    eta = what_if.eta if what_if else now + timedelta(minutes=suggestion.eta_minutes)
    line = (
        f"{rider.name:<14} {suggestion.distance_m / 1000:4.1f} km  "
        f"carrying {rider.active_orders}/{rider.capacity}  {'❄' if rider.cold_chain else ' '}  "
        f"ETA {eta.astimezone(zone):%H:%M}"
    )
    if promised is not None:
        slack = promised - eta
        early = slack.total_seconds() >= 0
        line += f", {minutes(slack)} early" if early else f", LATE by {minutes(slack)}"
    if what_if:
        line += f" · {what_if_text(what_if, zone)}"
    return line


Lines = list[tuple[int, str]]
"""(rider id, what the dialog shows for them), best first."""


class ReassignDialog(Dialog):
    """The riders who could take it, best first, each with the ETA it would get. Enter asks
    (`confirm(rider_id)`, the console's one confirmation) and the dialog answers the rider only
    on yes; no goes back to the list.

    It comes up at once with the key that opens it and loads its riders itself (`load`): what is
    typed meanwhile (a fast `r enter y`) is kept and played, in order, once they are there."""

    DEFAULT_CSS = "ReassignDialog > Vertical { width: 90; }"
    BINDINGS = [Binding("enter", "choose", "Choose", priority=True, id="reassign.choose")]

    def __init__(
        self,
        title: str,
        load: Callable[[], Awaitable[tuple[str, Lines] | str]],
        confirm: Callable[[int], ConfirmDialog],
    ) -> None:
        super().__init__()
        self.title_text, self.load, self.confirm = title, load, confirm
        self.loaded = False
        self.typed: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", id="title")
            yield OptionList(id="riders")
            yield Label("finding riders…", classes="hint", id="hint")

    def on_mount(self) -> None:
        self.run_worker(self._load(), group="reassign-load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        try:
            loaded = await self.load()
        except FreshlineError as exc:
            loaded = f"{self.title_text}: {exc}"
        if isinstance(loaded, str):  # nobody, or the server said no: say why, and go
            self.notify(loaded, severity="warning")
            self.dismiss(None)
            return
        title, lines = loaded
        self.query_one("#title", Label).update(title)
        riders = self.query_one(OptionList)
        riders.add_options([Option(text, id=str(rider_id)) for rider_id, text in lines])
        riders.highlighted = 0
        riders.focus()
        self.query_one("#hint", Label).update("best first · enter chooses · esc cancels")
        self.loaded = True
        typed, self.typed = self.typed, []
        for key in typed:
            if key == "enter" and self.app.screen is self:
                self.action_choose()
            else:
                self.app.simulate_key(key)  # to whatever is on top now: the question

    def on_key(self, event: events.Key) -> None:
        if not self.loaded and event.key != "escape":
            self.typed.append(event.key)
            event.stop()
            event.prevent_default()

    def action_choose(self) -> None:
        if not self.loaded:
            self.typed.append("enter")
            return
        option = self.query_one(OptionList).highlighted_option
        if option is None or option.id is None:
            return
        rider_id = int(option.id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(rider_id)

        self.app.push_screen(self.confirm(rider_id), answered)


def _parts(screen: Screen[Any]) -> tuple[FreshlineClient, Store, tzinfo | None]:
    return client_of(screen.app), host(screen.app).store, host(screen.app).zone


def _who(card: OrderCard | None, order_id: int) -> str:
    return f"order {order_id} for {card.customer}" if card else f"order {order_id}"


@dataclass
class _Offer:
    """What the dialog offered for one order: the order as it stood, and who could take it."""

    card: OrderCard
    suggestions: dict[int, RiderSuggestion]
    lines: dict[int, str]

    def question(self, rider_id: int) -> ConfirmDialog:
        name, line = self.suggestions[rider_id].rider.name, self.lines[rider_id].strip()
        who = _who(self.card, self.card.id)
        if self.card.status == S.EXCEPTION:
            return ConfirmDialog(
                f"Give {who} to {name} and resume the delivery?",
                items=[line],
                consequence=(
                    f"{name} rides to where the goods were left, then to the customer; the "
                    "exception alert closes. No undo: to change your mind, reassign again."
                ),
                yes="reassign and resume",
            )
        return ConfirmDialog(
            f"Give {who} to {name}?",
            items=[line],
            consequence="No undo: to change your mind, reassign again.",
            yes="reassign",
        )


def reassign_order(screen: Screen[Any], order_id: int) -> None:
    """`r` on an order: its dialog at once; an order stopped in EXCEPTION is given to the
    chosen rider and resumed in the same request (its alert closes), its goods collected where
    they were left."""
    app = screen.app
    client, store, zone = _parts(screen)
    offers: list[_Offer] = []

    async def load() -> tuple[str, Lines] | str:
        card = store.orders.get(order_id) or OrderCard.of(await client.orders.get(order_id))
        # What each would do to their route, worked out by the server in the same request.
        suggestions = await client.orders.rider_suggestions(order_id, limit=8, what_if=True)
        if not suggestions:
            return (
                f"Nobody can take order {order_id} now (online, with room, a cold-chain box "
                "if needed)."
            )
        now = store.clock.now()
        via = " via the goods" if card.status in ON_THE_ROAD else ""
        lines = [
            (s.rider.id, suggestion_line(s, now, card.promised_at, zone) + via) for s in suggestions
        ]
        offers.append(_Offer(card, {s.rider.id: s for s in suggestions}, dict(lines)))
        stopped = " (stopped: the chosen rider resumes it)" if card.status == S.EXCEPTION else ""
        promised = card.promised_at.astimezone(zone)
        return (
            f"{_who(card, order_id).capitalize()}, promised {promised:%H:%M}{stopped}: to whom?",
            lines,
        )

    async def send(rider_id: int) -> None:
        offer = offers[-1]
        # The version the dispatcher saw when answering: if the order changed since, the
        # backend answers 409 instead of overriding a neighbour's decision (or reassigning
        # without the resume the question offered).
        card = offer.card
        resume = card.status == S.EXCEPTION
        results = await each(
            [order_id],
            lambda i: client.orders.assign(
                i, rider_id, card.version, reason="reassigned from the exception queue",
                resume=resume,
            ),
        )  # fmt: skip
        name = offer.suggestions[rider_id].rider.name
        report(
            app,
            f"Reassign to {name}" + (" and resume" if resume else ""),
            _who(card, order_id),
            results,
        )

    def chosen(rider_id: int | None) -> None:
        if rider_id is not None:
            # Not exclusive: a second decision must not cancel one still on its way.
            screen.run_worker(send(rider_id), group="reassign", exit_on_error=False)

    dialog = ReassignDialog(f"Order {order_id}: to whom?", load, lambda r: offers[-1].question(r))
    app.push_screen(dialog, chosen)


def hand_over(screen: Screen[Any], rider_id: int) -> None:
    """Every order the rider carries, in their sequence (most urgent first), to one rider
    with room for all of them: its dialog at once, like `reassign_order`."""
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
    ids = ", ".join(f"#{c.id}" for c in carried)
    title = f"Hand {name}'s {plural(len(carried), 'order')} ({ids}) to whom?"
    able: list[RiderSuggestion] = []

    async def load() -> tuple[str, Lines] | str:
        suggestions = await client.orders.rider_suggestions(carried[0].id, limit=20)
        giver = await client.riders.get(rider_id)
        # Room is counted in parcels: merged orders ride in one and take one slot, so the
        # taker needs no more slots than the giver fills.
        parcels = min(len(carried), giver.active_orders) or len(carried)
        able[:] = [
            s
            for s in suggestions
            if s.rider.capacity - s.rider.active_orders >= parcels
            and (s.rider.cold_chain or not cold)
        ]
        if not able:
            return f"Nobody online has room for {name}'s {plural(parcels, 'parcel')} now."
        now, first = store.clock.now(), carried[0].promised_at
        return title, [(s.rider.id, suggestion_line(s, now, first, zone)) for s in able]

    def taker_name(taker: int) -> str:
        return next(s.rider.name for s in able if s.rider.id == taker)

    def confirm(taker: int) -> ConfirmDialog:
        return ConfirmDialog(
            f"Hand {ids} from {name} to {taker_name(taker)}, in this order?",
            items=[_who(c, c.id) for c in carried],
            consequence="No undo: to change your mind, reassign each order again.",
            yes="hand them over",
        )

    async def send(taker: int) -> None:
        listing = [(c.id, c.version) for c in carried]
        to = taker_name(taker)
        results = await each(
            [rider_id],
            lambda i: client.riders.hand_over(i, taker, listing, reason=f"{name}'s orders to {to}"),
        )
        report(app, f"Hand over to {to}", f"{plural(len(carried), 'order')} of {name}", results)

    def chosen(taker: int | None) -> None:
        if taker is not None:
            screen.run_worker(send(taker), group="reassign", exit_on_error=False)

    app.push_screen(ReassignDialog(title, load, confirm), chosen)
