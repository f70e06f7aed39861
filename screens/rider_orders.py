"""`enter` on a rider: what they carry, the first promised first, with each order's promise,
ETA and lateness; `enter` on one opens its detail, `p` the route the optimiser proposes for
them (where a dispatcher locks and reorders stops), `esc` goes back to the map."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.alert_words import plural
from console.host import host
from console.store import Store, Urgency

URGENCY_MARK = {Urgency.LATE: ("!! late", "bold red"), Urgency.WARNING: ("! at risk", "yellow")}


class RiderOrdersScreen(ModalScreen[None]):
    """One rider's current orders; enter opens one."""

    DEFAULT_CSS = """
    RiderOrdersScreen { align: center middle; }
    RiderOrdersScreen > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    RiderOrdersScreen #rider-orders { height: auto; max-height: 16; border: none; }
    RiderOrdersScreen #rider-orders-title { text-style: bold; }
    RiderOrdersScreen #rider-orders-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="rider_orders.close"),
        Binding("p", "plan", "Route", tooltip="The proposed sequence", id="rider_orders.plan"),
    ]

    def __init__(self, rider_id: int) -> None:
        super().__init__()
        self.rider_id = rider_id

    @property
    def store(self) -> Store:
        return host(self.app).store

    def compose(self) -> ComposeResult:
        store = self.store
        rider = store.riders.get(self.rider_id)
        name = rider.name if rider else f"rider {self.rider_id}"
        ids = store.orders_of(self.rider_id)
        with Vertical():
            yield Static(f"{name}: {plural(len(ids), 'order')} now", id="rider-orders-title")
            yield OptionList(*(self._option(i) for i in ids), id="rider-orders")
            yield Static(
                "enter: the order's detail · p: the route · esc: back", id="rider-orders-hint"
            )

    def _option(self, order_id: int) -> Option:
        store = self.store
        card = store.orders[order_id]
        zone = host(self.app).zone
        now = store.clock.now()
        text = Text()
        text.append(f"#{card.id:<6}", style="bold")
        text.append(f" {card.status:<12} {card.customer[:14]:<14}")
        text.append(f" promised {card.promised_at.astimezone(zone):%H:%M}")
        eta = store.eta(card, now)
        if eta is not None:
            text.append(f" ETA {eta.astimezone(zone):%H:%M}")
        mark = URGENCY_MARK.get(store.urgency(card, now))
        if mark is not None:
            text.append(f"  {mark[0]}", style=mark[1])
        if card.cold_chain:
            text.append(" ❄")
        return Option(text, id=str(order_id))

    def on_mount(self) -> None:
        options = self.query_one("#rider-orders", OptionList)
        if options.option_count == 0:
            options.display = False
        else:
            options.highlighted = 0
        options.focus()

    def action_plan(self) -> None:
        from screens.route_plan import RoutePlanScreen

        self.app.push_screen(RoutePlanScreen(self.rider_id))

    @on(OptionList.OptionSelected, "#rider-orders")
    def _open(self, event: OptionList.OptionSelected) -> None:
        order_id = int(event.option.id or 0)
        self.dismiss()
        host(self.app).open_order(order_id)
