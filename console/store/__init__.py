"""The console's picture of the city: orders in lanes, riders, and how fresh it all is.

Pure Python (no Textual; tests/test_layering.py checks it). `picture.Store` holds it all;
`lanes` (the swimlanes, urgency, the board's filter), `cards` (one order, one rider, the map's
static layer), `clocks` (the backend's clock) and `kpi_board` (the KPI screen's numbers) are
its parts. Callers import from here.
"""

from console.store.cards import (
    RIDER_ORDER_LANES,
    SILENT_AFTER,
    MapPlace,
    MapZone,
    OrderCard,
    RiderCard,
    RiderState,
)
from console.store.clocks import FrozenClock, ServerClock
from console.store.kpi_board import KpiBoard, KpiScope
from console.store.lanes import (
    BOARD_STATES,
    LANE_LABELS,
    LANE_OF_STATE,
    LANE_SHORT,
    Lane,
    OrderFilter,
    Urgency,
)
from console.store.picture import SIGNED_WINDOW, WARN_BEFORE, Changes, Store

__all__ = [
    "BOARD_STATES",
    "LANE_LABELS",
    "LANE_OF_STATE",
    "LANE_SHORT",
    "RIDER_ORDER_LANES",
    "SIGNED_WINDOW",
    "SILENT_AFTER",
    "WARN_BEFORE",
    "Changes",
    "FrozenClock",
    "KpiBoard",
    "KpiScope",
    "Lane",
    "MapPlace",
    "MapZone",
    "OrderCard",
    "OrderFilter",
    "RiderCard",
    "RiderState",
    "ServerClock",
    "Store",
    "Urgency",
]
