"""`p` on a rider's orders: their route as the optimiser proposes it, every pick-up and drop in
order with its ETA against its promise. A dispatcher locks a drop where it is (`l`), moves one
up or down (`[` / `]`, which locks it there), and saves (`s`): the optimiser then keeps the
locked drops in place and sequences the rest around them. `r` reloads, `esc` backs out (an
unsaved change is dropped)."""

from __future__ import annotations

import logging

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from backend_client import FreshlineError
from backend_client.models import PlannedVisit, RoutePlan, VisitKind
from console.host import host
from console.roles import denial

log = logging.getLogger(__name__)


class RoutePlanScreen(ModalScreen[None]):
    """One rider's planned route; locks and moves are kept locally until saved."""

    DEFAULT_CSS = """
    RoutePlanScreen { align: center middle; }
    RoutePlanScreen > Vertical {
        width: 84; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    RoutePlanScreen #route-stops { height: auto; max-height: 18; border: none; }
    RoutePlanScreen #route-title { text-style: bold; }
    RoutePlanScreen #route-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="route_plan.close"),
        Binding("l", "lock_stop", "Lock", tooltip="Keep this drop here", id="route_plan.lock"),
        Binding("[", "move_stop(-1)", "Earlier", tooltip="Move up, locked", id="route_plan.up"),
        Binding("]", "move_stop(1)", "Later", tooltip="Move down, locked", id="route_plan.down"),
        Binding("s", "save_route", "Save", tooltip="Keep this order", id="route_plan.save"),
        Binding("r", "reload", "Reload", id="route_plan.reload"),
    ]

    def __init__(self, rider_id: int) -> None:
        super().__init__()
        self.rider_id = rider_id
        self.plan: RoutePlan | None = None
        self.drops: list[int] = []
        """The drops in the order shown (the dispatcher's edits applied)."""
        self.locked: set[int] = set()
        self.edited = False

    def compose(self) -> ComposeResult:
        rider = host(self.app).store.riders.get(self.rider_id)
        self.rider_name = rider.name if rider else f"rider {self.rider_id}"
        with Vertical():
            yield Static(f"{self.rider_name}: route", id="route-title")
            yield Static("loading the plan...", id="route-summary")
            yield OptionList(id="route-stops")
            yield Static("l lock · [ ] move · s save · r reload · esc back", id="route-hint")

    def on_mount(self) -> None:
        self.query_one("#route-stops", OptionList).focus()
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if denial(host(self.app).me, action):
            return None
        if action in ("lock_stop", "move_stop", "save_route") and self.plan is None:
            return None
        return True

    def on_key(self, event: events.Key) -> None:
        """A dimmed key says why instead of doing nothing."""
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        reason = denial(host(self.app).me, active.binding.action.split("(")[0])
        if reason:
            self.notify(reason, title=f"{active.binding.description}: not allowed")
            event.stop()

    @work(group="route-plan", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        client = host(self.app).client
        if client is None:
            self.query_one("#route-summary", Static).update("not signed in")
            return
        try:
            plan = await client.riders.plan(self.rider_id)
        except FreshlineError as exc:
            log.warning("route plan of rider %s: %s", self.rider_id, exc)
            self.query_one("#route-summary", Static).update(f"no plan: {exc}")
            return
        self._show(plan)

    def _show(self, plan: RoutePlan) -> None:
        self.plan = plan
        self.drops = [v.order_id for v in plan.visits if v.kind is VisitKind.DROP]
        self.locked = {v.order_id for v in plan.visits if v.kind is VisitKind.DROP and v.locked}
        self.edited = False
        source = "optimised" if plan.source == "optimiser" else "promise order"
        why = f" ({plan.why})" if plan.why else ""
        self.query_one("#route-summary", Static).update(
            f"{source}{why} · {plan.km:g} km (promise order {plan.promise_order_km:g} km)"
            f" · {plan.late_minutes:g} min late in all · version {plan.version}"
        )
        self._redraw()
        self.refresh_bindings()

    def _redraw(self, keep: int | None = None) -> None:
        plan = self.plan
        options = self.query_one("#route-stops", OptionList)
        options.clear_options()
        if plan is None:
            return
        drops = {v.order_id: v for v in plan.visits if v.kind is VisitKind.DROP}
        if self.edited:
            # The dispatcher's order, not yet planned: drops only, as they will be sent.
            rows = [(n, drops[i]) for n, i in enumerate(self.drops, 1)]
        else:
            rows = []
            n = 0
            for visit in plan.visits:
                n += visit.kind is VisitKind.DROP
                rows.append((n, visit))
        for n, visit in rows:
            options.add_option(self._option(n, visit))
        if options.option_count:
            options.highlighted = 0 if keep is None else keep

    def _option(self, n: int, visit: PlannedVisit) -> Option:
        zone = host(self.app).zone
        text = Text()
        if visit.kind is VisitKind.PICKUP:
            text.append("   collect ", style="dim")
            text.append(f"#{visit.order_id:<6}")
            text.append(f" at {visit.eta.astimezone(zone):%H:%M}", style="dim")
            return Option(text, id=f"pickup-{visit.order_id}", disabled=True)
        locked = visit.order_id in self.locked
        text.append(f"{n:>2}. ", style="bold")
        text.append(f"#{visit.order_id:<6}", style="bold")
        text.append(f" promised {visit.promised_at.astimezone(zone):%H:%M}")
        if not self.edited:
            text.append(f" ETA {visit.eta.astimezone(zone):%H:%M}")
            if visit.predicted_late:
                text.append("  !! late", style="bold red")
        if visit.cold_weight_g:
            text.append(" ❄")
        if locked:
            text.append("  [locked]", style="reverse")
        return Option(text, id=f"drop-{visit.order_id}")

    def _highlighted_drop(self) -> int | None:
        options = self.query_one("#route-stops", OptionList)
        option = options.highlighted_option
        if option is None or option.id is None or not option.id.startswith("drop-"):
            return None
        return int(option.id.removeprefix("drop-"))

    def _drop_row(self, order_id: int) -> int:
        options = self.query_one("#route-stops", OptionList)
        return options.get_option_index(f"drop-{order_id}")

    def action_lock_stop(self) -> None:
        order_id = self._highlighted_drop()
        if order_id is None:
            return
        self.locked ^= {order_id}
        self.edited = True
        self._redraw()
        self.query_one("#route-stops", OptionList).highlighted = self._drop_row(order_id)

    def action_move_stop(self, by: int) -> None:
        order_id = self._highlighted_drop()
        if order_id is None:
            return
        at = self.drops.index(order_id)
        to = max(0, min(len(self.drops) - 1, at + by))
        self.drops.insert(to, self.drops.pop(at))
        self.locked.add(order_id)  # moved by hand: it stays where it was put
        self.edited = True
        self._redraw()
        self.query_one("#route-stops", OptionList).highlighted = self._drop_row(order_id)

    def action_save_route(self) -> None:
        if self.plan is not None:
            self._save(self.plan.version, [(i, i in self.locked) for i in self.drops])

    def action_reload(self) -> None:
        self._load()

    @work(group="route-save", exclusive=True, exit_on_error=False)
    async def _save(self, version: int, stops: list[tuple[int, bool]]) -> None:
        client = host(self.app).client
        if client is None:
            return
        try:
            plan = await client.riders.order_route(self.rider_id, version, stops)
        except FreshlineError as exc:
            # A stale version or a changed route: say so and show the route as it is now.
            self.notify(str(exc), title="Route not saved", severity="warning")
            self._load()
            return
        self.notify(f"{self.rider_name}'s route saved (version {plan.version})")
        self._show(plan)
