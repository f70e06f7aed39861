"""A warehouse's restock suggestions: SKU, on hand, forecast, suggested, decision; `a` accepts
the suggestion under the cursor, `e` adjusts it (type the units, Enter), `r` reads the plan
again. Self-contained: give it a signed-in client and a warehouse id.

The plan is about twenty rows that change when the merchant decides or asks again, never per
event: a `DataTable` redrawn whole on each load is cheap enough here (see STYLE.md's trap for
live tables, which this is not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static

from backend_client import FreshlineClient, FreshlineError
from backend_client.models import MAX_RESTOCK_UNITS, RestockDecision, RestockPlan, RestockSuggestion

log = logging.getLogger(__name__)

COLUMNS = ("SKU", "on hand", "forecast", "suggested", "decision")


def decision_text(suggestion: RestockSuggestion) -> str:
    """What the decision column says: the open order, or that one is wanted (`!!`: readable
    without colour)."""
    decision = suggestion.decision
    if decision is not None:
        return f"{decision.decision} {decision.quantity} ({decision.decided_by})"
    if suggestion.suggested > 0:
        return "!! to decide"
    return "-"


class RestockTable(Vertical):
    """Restock suggestions of one warehouse, with accept and adjust."""

    DEFAULT_CSS = """
    RestockTable { height: auto; max-height: 100%; }
    RestockTable > #restock-summary { height: 1; color: $text-muted; }
    RestockTable > DataTable { height: auto; max-height: 30; }
    RestockTable > Input { display: none; }
    RestockTable > Input.-asking { display: block; }
    """

    BINDINGS = [
        Binding("a", "accept", "Accept", tooltip="Order the suggested units", id="restock.accept"),
        Binding("e", "adjust", "Adjust", tooltip="Order another quantity", id="restock.adjust"),
        Binding("r", "reload", "Reload", tooltip="Read the suggestions again", id="restock.reload"),
        Binding("escape", "cancel", "Cancel", show=False, id="restock.cancel"),
    ]

    plan: reactive[RestockPlan | None] = reactive(None, always_update=True)
    """The plan on screen (None until the first read answers)."""

    @dataclass
    class Loaded(Message):
        plan: RestockPlan

    @dataclass
    class Decided(Message):
        decision: RestockDecision

    @dataclass
    class Failed(Message):
        what: str
        error: str

    def __init__(self, client: FreshlineClient, warehouse_id: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.client = client
        self.warehouse_id = warehouse_id
        self._adjusting: RestockSuggestion | None = None

    def compose(self) -> ComposeResult:
        yield Static("reading suggestions...", id="restock-summary")
        table: DataTable[str] = DataTable(id="restock-rows", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Input(
            placeholder="units to order, Enter (Esc: cancel)",
            type="integer",
            id="restock-quantity",
        )

    def on_mount(self) -> None:
        self.load()

    # --- reading -------------------------------------------------------------------------------

    @work(group="restock-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            plan = await self.client.warehouses.restock(self.warehouse_id)
        except FreshlineError as exc:
            self.post_message(self.Failed("read the suggestions", str(exc)))
            return
        self.post_message(self.Loaded(plan))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.plan = message.plan

    def watch_plan(self, plan: RestockPlan | None) -> None:
        if plan is None:
            return
        table = self.query_one("#restock-rows", DataTable)
        row = table.cursor_row
        table.clear()
        for s in plan.suggestions:
            table.add_row(
                s.sku,
                str(s.on_hand),
                f"{s.forecast:.0f}",
                str(s.suggested),
                decision_text(s),
                key=s.sku,
            )
        if plan.suggestions:
            table.move_cursor(row=min(max(row, 0), len(plan.suggestions) - 1))
        self.query_one("#restock-summary", Static).update(
            f"{plan.warehouse_id}: {plan.lead_hours:g} h lead + {plan.review_hours:g} h review, "
            f"{plan.service_level:.0%} service, {plan.history_hours} h of history "
            f"({plan.weeks_used} whole weeks)"
        )

    def current(self) -> RestockSuggestion | None:
        """The suggestion under the cursor."""
        if self.plan is None or not self.plan.suggestions:
            return None
        row = self.query_one("#restock-rows", DataTable).cursor_row
        if 0 <= row < len(self.plan.suggestions):
            return self.plan.suggestions[row]
        return None

    # --- deciding ------------------------------------------------------------------------------

    def action_accept(self) -> None:
        suggestion = self.current()
        if suggestion is None:
            return
        if suggestion.suggested <= 0:
            self.notify(f"{suggestion.sku}: nothing to order", severity="warning")
            return
        self._decide(suggestion, None)

    def action_adjust(self) -> None:
        suggestion = self.current()
        if suggestion is None:
            return
        self._adjusting = suggestion
        field = self.query_one("#restock-quantity", Input)
        field.value = ""
        field.placeholder = (
            f"{suggestion.sku}: units to order (suggested {suggestion.suggested}), Enter; "
            "Esc cancels"
        )
        field.add_class("-asking")
        field.focus()  # now, so the digits typed next land in it (STYLE.md's trap)

    def action_cancel(self) -> None:
        self._close_input()

    def action_reload(self) -> None:
        self.load()

    @on(Input.Submitted, "#restock-quantity")
    def _quantity(self, event: Input.Submitted) -> None:
        event.stop()
        suggestion = self._adjusting
        try:
            quantity = int(event.value)
        except ValueError:
            quantity = -1
        if suggestion is None:
            return
        if not 0 <= quantity <= MAX_RESTOCK_UNITS:
            self.notify(
                f"Units must be a whole number from 0 to {MAX_RESTOCK_UNITS:,}",
                severity="error",
            )
            return
        self._close_input()
        self._decide(suggestion, quantity)

    def _close_input(self) -> None:
        self._adjusting = None
        field = self.query_one("#restock-quantity", Input)
        field.remove_class("-asking")
        self.query_one("#restock-rows", DataTable).focus()

    @work(group="restock-decide", exclusive=True, exit_on_error=False)
    async def _decide(self, suggestion: RestockSuggestion, quantity: int | None) -> None:
        try:
            decision = await self.client.warehouses.decide_restock(
                self.warehouse_id,
                suggestion.sku,
                version=suggestion.version,
                suggested=suggestion.suggested,
                quantity=quantity,
            )
        except FreshlineError as exc:
            self.post_message(self.Failed(f"decide on {suggestion.sku}", str(exc)))
            self.load()  # a stale suggestion: show what stands now
            return
        self.post_message(self.Decided(decision))
        self.load()

    @on(Decided)
    def _decided(self, message: Decided) -> None:
        d = message.decision
        self.notify(f"{d.sku}: {d.decision} {d.quantity}")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        log.warning("restock: could not %s: %s", message.what, message.error)
        self.notify(f"Could not {message.what}: {message.error}", severity="error")
