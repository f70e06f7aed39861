"""One order as one line of a lane: the cells, fitted to the width there is.

Pure formatting (no widget): the lane widget styles the cells. Urgency reads without colour: a
glyph leads the line and the time column says "late" in words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from rich.cells import cell_len, set_cell_size

from backend_client.models import OrderState
from console.store import OrderCard, Store, Urgency

GLYPH = {Urgency.LATE: "!!", Urgency.WARNING: "! ", Urgency.OK: "  "}
CHANNEL_SHORT = {"mini_program": "mini", "group_buy": "group"}


@dataclass(frozen=True)
class Column:
    name: str
    width: int
    right: bool = False


# Dropped from the right end first when the lane is narrow (see `columns_for`).
COLUMNS = (
    Column("id", 6, right=True),
    Column("customer", 14),
    Column("time", 9, right=True),
    Column("rider", 11),
    Column("zone", 10),
    Column("channel", 7),
)
ETA = Column("eta", 6)
"""`~12:45`: only the delivering lane has ETAs, and there it comes right after the time left
(a lane of a 120-column board has room for four columns: the ETA must be one of them)."""
DELIVERING_COLUMNS = (*COLUMNS[:3], ETA, *COLUMNS[3:])
COLUMN_BY_NAME = {column.name: column for column in DELIVERING_COLUMNS}
LEAD = 4  # glyph, mark, space


def default_columns(*, eta: bool = False) -> tuple[str, ...]:
    """The names of a lane's columns by default (`eta`: the delivering lane's)."""
    return tuple(c.name for c in (DELIVERING_COLUMNS if eta else COLUMNS))


@functools.cache
def columns_for(
    width: int, *, eta: bool = False, names: tuple[str, ...] | None = None
) -> tuple[Column, ...]:
    """As many columns as fit, in priority order, then widen the customer with the rest;
    `eta` for the delivering lane; `names` the columns a saved view chose, in its order
    (default: the board's)."""
    chosen: list[Column] = []
    used = LEAD
    wanted = (
        tuple(COLUMN_BY_NAME[n] for n in names if n in COLUMN_BY_NAME)
        if names is not None
        else (DELIVERING_COLUMNS if eta else COLUMNS)
    )
    for column in wanted:
        if used + column.width + 1 > width and len(chosen) >= min(3, len(wanted)):
            break
        chosen.append(column)
        used += column.width + 1
    spare = max(0, width - used)
    return tuple(
        Column(c.name, c.width + min(spare, 10), c.right) if c.name == "customer" else c
        for c in chosen
    )


def minutes(delta: timedelta) -> str:
    total = int(abs(delta).total_seconds() // 60)
    return f"{total // 60}h{total % 60:02d}" if total >= 60 else f"{total}m"


def time_cell(card: OrderCard, now: datetime, zone: tzinfo | None) -> str:
    """Time left against the promise, or how late; signed orders say when and how it went."""
    if card.status == OrderState.SIGNED and card.signed_at is not None:
        if card.signed_at > card.promised_at:
            return f"{minutes(card.signed_at - card.promised_at)} late"
        return f"ok {card.signed_at.astimezone(zone):%H:%M}"
    left = card.promised_at - now
    return f"{minutes(left)} late" if left.total_seconds() < 0 else f"{minutes(left)} left"


def order_cells(
    card: OrderCard,
    store: Store,
    now: datetime,
    columns: tuple[Column, ...],
    zone: tzinfo | None = None,
) -> tuple[Urgency, list[str]]:
    """The urgency and the text of each column, padded to the column's width."""
    urgency = store.urgency(card, now)
    cells: list[str] = []
    for column in columns:
        match column.name:
            case "id":
                value = str(card.id)
            case "customer":
                value = card.customer + (" ❄" if card.cold_chain else "")
            case "time":
                value = time_cell(card, now, zone)
            case "rider":
                value = store.rider_name(card.rider_id) or "-"
            case "zone":
                value = card.zone
            case "eta":
                eta = store.eta(card, now)
                value = f"~{eta.astimezone(zone):%H:%M}" if eta else ""
            case _:
                value = CHANNEL_SHORT.get(card.channel, card.channel)
        cells.append(fit(value, column.width, right=column.right))
    return urgency, cells


def fit(text: str, width: int, *, right: bool = False) -> str:
    """Crop or pad to `width` terminal cells (a Chinese name takes two cells a character)."""
    if cell_len(text) > width:
        text = set_cell_size(text, max(0, width - 1)) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad
