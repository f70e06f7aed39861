"""What a board looks like, as a saved view keeps it: the filter, the lanes shown, the lane in
focus, and each lane's columns and sort; and a lane's order and counts under a sort.

Pure (no Textual, no network): `console/views.py` keeps looks on the server, the board shows
them (screens/board.py), the `f6` dialog edits one lane's (screens/lane_setup.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from backend_client.models import (
    BoardLane,
    LaneColumn,
    LaneLayoutIn,
    LaneSort,
    ViewSettings,
    ViewSettingsIn,
)
from console.store import Lane, OrderCard, OrderFilter, Store, Urgency
from widgets.order_row import default_columns


@dataclass(frozen=True)
class LaneLook:
    """One lane's columns (None: the board's, fitted to the width) and sort."""

    columns: tuple[str, ...] | None = None
    sort: LaneSort = LaneSort.URGENCY
    descending: bool = False

    @property
    def is_default(self) -> bool:
        return self.columns is None and self.sort == LaneSort.URGENCY and not self.descending


DEFAULT_LANE_LOOK = LaneLook()


@dataclass(frozen=True)
class BoardLook:
    """Everything a saved view holds: the filter, the lanes shown, the lane in focus, and the
    lanes laid out otherwise than by default."""

    order_filter: OrderFilter = field(default_factory=OrderFilter)
    lanes: tuple[Lane, ...] = tuple(Lane)
    focus: Lane | None = None
    layouts: Mapping[Lane, LaneLook] = field(default_factory=dict)

    def layout(self, lane: Lane) -> LaneLook:
        return self.layouts.get(lane, DEFAULT_LANE_LOOK)


def look_of(settings: ViewSettings) -> BoardLook:
    """A saved view's settings as the board shows them."""
    return BoardLook(
        order_filter=OrderFilter(
            text=settings.search,
            channel=settings.channel,
            warehouse_id=settings.warehouse_id,
            late_only=settings.late_only,
            zones=frozenset(settings.zones),
        ),
        lanes=tuple(Lane(lane.value) for lane in settings.lanes),
        focus=Lane(settings.focus.value) if settings.focus else None,
        layouts={
            Lane(lane.value): LaneLook(
                tuple(c.value for c in layout.columns), layout.sort, layout.descending
            )
            for lane, layout in settings.layouts.items()
        },
    )


def settings_of(look: BoardLook) -> ViewSettingsIn:
    """What the board shows, as a view's settings. A zone chosen in the filter bar narrows the
    board to itself, so the view keeps that one zone."""
    f = look.order_filter
    zones = [f.zone] if f.zone else sorted(f.zones)
    return ViewSettingsIn(
        search=f.text,
        channel=f.channel,
        warehouse_id=f.warehouse_id,
        zones=zones,
        late_only=f.late_only,
        lanes=[BoardLane(lane.value) for lane in look.lanes],
        focus=BoardLane(look.focus.value) if look.focus in look.lanes and look.focus else None,
        layouts={
            BoardLane(lane.value): LaneLayoutIn(
                columns=[LaneColumn(c) for c in (layout.columns or default_names(lane))],
                sort=layout.sort,
                descending=layout.descending,
            )
            for lane, layout in look.layouts.items()
            if not layout.is_default
        },
    )


def default_names(lane: Lane) -> tuple[str, ...]:
    """The board's own columns of `lane`, in its order."""
    return default_columns(eta=lane == Lane.DELIVERING)


def columns_allowed(lane: Lane) -> tuple[LaneColumn, ...]:
    """The columns `lane` may show (ETAs only where there are any)."""
    return tuple(c for c in LaneColumn if c != LaneColumn.ETA or lane == Lane.DELIVERING)


def sorts_allowed(lane: Lane) -> tuple[LaneSort, ...]:
    return tuple(s for s in LaneSort if s != LaneSort.ETA or lane == Lane.DELIVERING)


# --- a lane's order and counts ------------------------------------------------------------------

SortKey = Callable[[Store, OrderCard, datetime], object]
SORT_KEYS: dict[LaneSort, SortKey] = {
    LaneSort.ID: lambda store, card, now: card.id,
    LaneSort.CUSTOMER: lambda store, card, now: card.customer.casefold(),
    LaneSort.RIDER: lambda store, card, now: (
        store.rider_name(card.rider_id).casefold() if card.rider_id is not None else None
    ),
    LaneSort.ZONE: lambda store, card, now: card.zone.casefold(),
    LaneSort.CHANNEL: lambda store, card, now: card.channel,
    LaneSort.ETA: lambda store, card, now: (
        eta.timestamp() if (eta := store.eta(card, now)) is not None else None
    ),
}
"""What each sort compares; None (no rider, no ETA) goes last whichever the direction."""


def arrange(store: Store, ids: list[int], look: LaneLook, now: datetime) -> list[int]:
    """A lane's ids (as the store orders them: most urgent first) in `look`'s order."""
    if look.sort == LaneSort.URGENCY:
        return ids[::-1] if look.descending else ids
    key = SORT_KEYS[look.sort]
    keyed = [(key(store, store.orders[i], now), i) for i in ids]
    present = [(k, i) for k, i in keyed if k is not None]
    present.sort(reverse=look.descending)  # (key, id): ties in id order, turned with the rest
    return [i for _, i in present] + [i for k, i in keyed if k is None]


def lane_counts(store: Store, lane: Lane, ids: list[int], look: LaneLook) -> tuple[int, int]:
    """(orders, late orders) among `ids` of `lane`, whatever order `look` put them in."""
    if look.sort == LaneSort.URGENCY and not look.descending:
        return store.lane_counts(lane, ids)  # the store's order: the late ones are a prefix
    now = store.clock.now()
    late = sum(1 for i in ids if store.urgency(store.orders[i], now) == Urgency.LATE)
    return len(ids), late
