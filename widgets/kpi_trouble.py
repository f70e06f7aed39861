"""Trouble by reason on the KPI screen: one line per reason, most frequent first, with its
count in digits, a bar, and the whole reason in words (wrapped, never cut), goods by name
rather than catalogue code. A list reads where a plotted bar chart cut every label short."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from backend_client.models import ExceptionCount, KpiExceptions

BAR = 12
"""Cells of the longest bar."""


def reason_words(row: ExceptionCount) -> str:
    """`out of stock: Spinach: the last units failed the freshness check` (the item's name where
    the reason gave its code)."""
    reason = row.reason or "no reason given"
    if row.sku and row.sku_name and reason.startswith(f"{row.sku}:"):
        reason = row.sku_name + reason[len(row.sku) :]
    return f"{row.state.value.replace('_', ' ').lower()}: {reason}"


def trouble_total(exceptions: KpiExceptions) -> int:
    """Entries into a trouble state today (every reason, not only those listed)."""
    return sum(exceptions.by_state.values())


def trouble_title(exceptions: KpiExceptions) -> str:
    return f"Trouble by reason, today: {trouble_total(exceptions)}"


class TroubleList(Static):
    """The reasons, as many as fit; the rest counted on a last line."""

    DEFAULT_CSS = """
    TroubleList {
        height: 1fr; min-height: 10; padding: 0 1; border: round $panel-lighten-2;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "Trouble by reason, today"
        self.rows: list[ExceptionCount] = []

    def show(self, exceptions: KpiExceptions) -> None:
        self.border_title = trouble_title(exceptions)
        self.rows = list(exceptions.by_reason)
        if not self.rows:
            self.update(Text("no trouble yet today", style="dim"))
            return
        most = max(row.count for row in self.rows)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True, width=BAR)
        table.add_column(ratio=1, overflow="fold")
        for row in self.rows:
            cells = max(1, round(BAR * row.count / most))
            table.add_row(str(row.count), Text("█" * cells, style="bold"), reason_words(row))
        shown = sum(row.count for row in self.rows)
        rest = trouble_total(exceptions) - shown
        if rest > 0:
            table.add_row(str(rest), "", Text("other reasons", style="dim"))
        self.update(table)
