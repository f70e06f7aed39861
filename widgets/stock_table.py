"""The merchant screen's tables: stock per SKU with its warnings, and the loss rate by SKU.

Keyed by SKU. The stock table changes only the cells that changed (a reservation moves one
number), and is rebuilt only when the rows' order changes (a warning came or went), its cursor
kept on its SKU; the loss table is small and read whole every few minutes.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from backend_client.models import WarehouseLosses
from console.store_front import StockLine, percent

STOCK_COLUMNS = (
    ("sku", "SKU"),
    ("name", "Name"),
    ("available", "Avail"),
    ("reserved", "Resv"),
    ("warning", "Warning"),
)
LOSS_COLUMNS = (
    ("sku", "SKU"),
    ("name", "Name"),
    ("sold", "Sold"),
    ("lost", "Lost"),
    ("rate", "Rate"),
)


def stock_cells(line: StockLine) -> tuple[str | Text, ...]:
    """A stock row's cells; a warned one reads without colour too (bold, reverse, `!!`)."""
    if line.warning is None:
        return (line.sku, line.name, str(line.available), str(line.reserved), "")
    return (
        Text(line.sku, style="bold"),
        line.name,
        Text(str(line.available), style="bold"),
        str(line.reserved),
        Text(line.warning.words, style="bold reverse"),
    )


class StockTable(DataTable[str | Text]):
    """Stock per SKU, warned SKUs first (`console.store_front.stock_lines`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.lines: list[StockLine] = []
        """The rows as drawn."""

    def on_mount(self) -> None:
        for key, label in STOCK_COLUMNS:
            self.add_column(label, key=key)

    def show(self, lines: list[StockLine]) -> None:
        with self.app.batch_update():
            if [line.sku for line in lines] != [line.sku for line in self.lines]:
                under = self.under_cursor()
                self.clear()
                for line in lines:
                    self.add_row(*stock_cells(line), key=line.sku)
                if under is not None and under.sku in {line.sku for line in lines}:
                    self.move_cursor(row=self.get_row_index(under.sku))
            else:
                for before, line in zip(self.lines, lines, strict=True):
                    if before != line:
                        for (key, _), cell in zip(STOCK_COLUMNS, stock_cells(line), strict=True):
                            self.update_cell(line.sku, key, cell)
        self.lines = lines

    def under_cursor(self) -> StockLine | None:
        if not self.lines or not self.row_count:
            return None
        return self.lines[min(self.cursor_row, len(self.lines) - 1)]


class LossTable(DataTable[str | Text]):
    """Units sold and lost by SKU over the window, worst first (as the server sorts them)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for key, label in LOSS_COLUMNS:
            self.add_column(label, key=key)

    def show(self, losses: WarehouseLosses | None) -> None:
        with self.app.batch_update():
            self.clear()
            for line in losses.skus if losses is not None else []:
                rate = Text(percent(line.loss_rate), style="bold" if line.lost else "")
                self.add_row(
                    line.sku, line.name, str(line.sold), str(line.lost), rate, key=line.sku
                )
