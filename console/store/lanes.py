"""The board's swimlanes, which order states each holds, how urgent an order is, and what the
board is narrowed to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from backend_client.models import OrderState


class Lane(StrEnum):
    """The board's swimlanes, in the order they are shown."""

    NEW = "new"
    PICKING = "picking"
    SHORT = "out_of_stock"
    DELIVERING = "delivering"
    EXCEPTION = "exception"
    SIGNED = "signed"

    @property
    def label(self) -> str:
        """Its name on the board ("Out of stock"); `str.title` stays `str.title`."""
        return LANE_LABELS[self]

    @property
    def short(self) -> str:
        return LANE_SHORT[self]


LANE_LABELS = {
    Lane.NEW: "New",
    Lane.PICKING: "Picking",
    Lane.SHORT: "Out of stock",
    Lane.DELIVERING: "Delivering",
    Lane.EXCEPTION: "Exception",
    Lane.SIGNED: "Signed (1 h)",
}

LANE_SHORT = {
    Lane.NEW: "New",
    Lane.PICKING: "Pick",
    Lane.SHORT: "Short",
    Lane.DELIVERING: "Deliv",
    Lane.EXCEPTION: "Exc",
    Lane.SIGNED: "Signed",
}

LANE_OF_STATE: dict[str, Lane] = {
    OrderState.CREATED: Lane.NEW,
    OrderState.PAID: Lane.NEW,
    OrderState.PICKING: Lane.PICKING,
    OrderState.OUT_OF_STOCK: Lane.SHORT,
    OrderState.DELIVERING: Lane.DELIVERING,
    OrderState.EXCEPTION: Lane.EXCEPTION,
    OrderState.RETURNING: Lane.EXCEPTION,
    OrderState.CLAIMING: Lane.EXCEPTION,
    OrderState.SIGNED: Lane.SIGNED,
}
"""States not listed (returned, claim settled, cancelled) are done and leave the board."""

BOARD_STATES = tuple(OrderState(s) for s in LANE_OF_STATE if s != OrderState.SIGNED)
"""Open states: a snapshot loads all of them, plus what was signed within the window."""


class Urgency(IntEnum):
    """How much an order needs attention; lower sorts first."""

    LATE = 0
    WARNING = 1
    OK = 2


@dataclass(frozen=True)
class OrderFilter:
    """What the board is narrowed to; empty matches everything."""

    text: str = ""
    channel: str | None = None
    warehouse_id: str | None = None
    zone: str | None = None
    late_only: bool = False
    zones: frozenset[str] = frozenset()
    """Any of these zones (a saved view's; the filter bar's `zone` narrows it further)."""

    @property
    def active(self) -> bool:
        return bool(
            self.text
            or self.channel
            or self.warehouse_id
            or self.zone
            or self.late_only
            or self.zones
        )
