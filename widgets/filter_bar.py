"""The filter bar: a search box (`/`) and narrowing by channel, warehouse, zone, late only."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Input, Select

from console.store import OrderFilter
from widgets.toggle_box import ToggleBox

ANY = Select.NULL


class FilterBar(Horizontal):
    """Tells its screen the filter on every change (as you type)."""

    DEFAULT_CSS = """
    FilterBar { height: 1; background: $panel; display: none; }
    FilterBar.-shown { display: block; }
    FilterBar > Input { width: 2fr; min-width: 20; }
    FilterBar > Select { width: 1fr; min-width: 12; }
    FilterBar > Checkbox { width: auto; }
    """

    class Changed(Message):
        def __init__(self, order_filter: OrderFilter) -> None:
            super().__init__()
            self.order_filter = order_filter

    def __init__(self) -> None:
        super().__init__()
        self._offered: dict[str, list[str]] = {}
        """The values each select offers now (options are rebuilt only when they change)."""
        self.zones: frozenset[str] = frozenset()
        """A saved view's zones (`OrderFilter.zones`): kept until the filter is cleared; the
        board's strip names them."""

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="/ order id, customer, rider, phone tail",
            id="search",
            compact=True,
        )
        yield Select[str]([], prompt="any channel", id="channel", compact=True)
        yield Select[str]([], prompt="any warehouse", id="warehouse", compact=True)
        yield Select[str]([], prompt="any zone", id="zone", compact=True)
        yield ToggleBox("late only", id="late", compact=True)

    def offer(self, channels: list[str], warehouses: list[str], zones: list[str]) -> None:
        """The values to choose from (what the board holds); keeps what is selected."""
        for select_id, values in (
            ("channel", channels),
            ("warehouse", warehouses),
            ("zone", zones),
        ):
            select: Select[str] = self.query_one(f"#{select_id}", Select)
            held = select.value
            options = sorted(set(values) | ({held} if isinstance(held, str) else set()))
            if options != self._offered.get(select_id):
                select.set_options((value, value) for value in options)
                self._offered[select_id] = options
                if isinstance(held, str):
                    select.value = held

    @property
    def order_filter(self) -> OrderFilter:
        def chosen(select_id: str) -> str | None:
            value = self.query_one(f"#{select_id}", Select).value
            return None if value == ANY else str(value)

        return OrderFilter(
            text=self.query_one("#search", Input).value.strip(),
            channel=chosen("channel"),
            warehouse_id=chosen("warehouse"),
            zone=chosen("zone"),
            late_only=self.query_one("#late", Checkbox).value,
            zones=self.zones,
        )

    def set_filter(self, order_filter: OrderFilter) -> None:
        """Show exactly `order_filter` (e.g. a KPI screen opening the board on one channel)."""
        self.query_one("#search", Input).value = order_filter.text
        for select_id, value in (
            ("channel", order_filter.channel),
            ("warehouse", order_filter.warehouse_id),
            ("zone", order_filter.zone),
        ):
            select = self.query_one(f"#{select_id}", Select)
            if value is None:
                select.clear()
                continue
            offered = self._offered.get(select_id, [])
            if value not in offered:
                offered = sorted({*offered, value})
                select.set_options((v, v) for v in offered)
                self._offered[select_id] = offered
            select.value = value
        self.query_one("#late", Checkbox).value = order_filter.late_only
        self.zones = order_filter.zones
        self.set_class(order_filter.active, "-shown")

    def toggle_late(self) -> None:
        box = self.query_one("#late", Checkbox)
        box.value = not box.value

    def clear(self) -> None:
        self.zones = frozenset()
        self.query_one("#search", Input).value = ""
        for select_id in ("channel", "warehouse", "zone"):
            self.query_one(f"#{select_id}", Select).clear()
        self.query_one("#late", Checkbox).value = False

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        if self.order_filter.active:
            self.add_class("-shown")
        self.post_message(self.Changed(self.order_filter))
