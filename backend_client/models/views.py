"""Saved views: a desk account's named boards (what is filtered, which lanes show, and each
lane's columns and sort), kept on the server per account so they follow the person to any
terminal. `docs/views.md` has the whole contract.

The settings are checked here, where the backend and the console both read them: a view that
passes is one the board can show.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from backend_client.models.common import ByValue, Code, Request, Response, text

MAX_VIEWS = 50
"""Views one account may keep (a desk's few, not a store of searches)."""


class BoardLane(StrEnum):
    """The board's swimlanes, as a view names them (the console's `Lane` values)."""

    NEW = "new"
    PICKING = "picking"
    OUT_OF_STOCK = "out_of_stock"
    DELIVERING = "delivering"
    EXCEPTION = "exception"
    SIGNED = "signed"


class LaneColumn(StrEnum):
    """A column a lane can show; `eta` only in the delivering lane, the only one with ETAs."""

    ID = "id"
    CUSTOMER = "customer"
    TIME = "time"
    ETA = "eta"
    RIDER = "rider"
    ZONE = "zone"
    CHANNEL = "channel"


class LaneSort(StrEnum):
    """What a lane is sorted by."""

    URGENCY = "urgency"
    """The board's own order: open lanes by promise (late first), signed most recent first."""
    ID = "id"
    CUSTOMER = "customer"
    RIDER = "rider"
    ZONE = "zone"
    CHANNEL = "channel"
    ETA = "eta"
    """Expected arrival (delivering lane); orders without one go last."""


def _view_name(value: str) -> str:
    """One word (a `:view open NAME` command names it), NFC, visible."""
    name = unicodedata.normalize("NFC", value)
    if any(ch.isspace() for ch in name):
        raise ValueError("a view's name is one word: no spaces (use - or _)")
    if any(unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn") for ch in name):
        raise ValueError("a view's name may not hold invisible or unassigned characters")
    return name


ViewName = Annotated[str, text(40), AfterValidator(_view_name)]
ZoneName = Annotated[str, text(60)]
Search = Annotated[str, text(100, min_length=0)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("each value may be named once")
    return values


class LaneLayoutIn(Request):
    """One lane's columns, left to right, and sort. The lane drops columns from the right when
    it is too narrow for all of them."""

    columns: Annotated[
        list[Annotated[LaneColumn, ByValue]],
        Field(min_length=1, max_length=len(LaneColumn)),
        AfterValidator(_unique),
    ]
    sort: Annotated[LaneSort, ByValue] = LaneSort.URGENCY
    descending: bool = False


class ViewSettingsIn(Request):
    """What a view shows: the filter, the lanes (in the board's order) and their layouts."""

    search: Search = ""
    channel: Code | None = None
    warehouse_id: Code | None = None
    zones: Annotated[
        list[ZoneName], Field(max_length=50, description="Any of these zones; none: every zone.")
    ] = []
    late_only: bool = False
    lanes: Annotated[
        list[Annotated[BoardLane, ByValue]],
        Field(min_length=1, max_length=len(BoardLane), description="The lanes shown."),
        AfterValidator(_unique),
    ] = list(BoardLane)
    focus: Annotated[BoardLane, ByValue] | None = Field(
        default=None, description="The lane in focus when the view opens (one of `lanes`)."
    )
    layouts: dict[Annotated[BoardLane, ByValue], LaneLayoutIn] = Field(
        default={}, description="Lanes laid out otherwise than the board's default."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ViewSettingsIn:
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("zones: each zone may be named once")
        if self.focus is not None and self.focus not in self.lanes:
            raise ValueError(f"focus: lane {self.focus.value!r} is not among the lanes shown")
        for lane, layout in self.layouts.items():
            eta_here = LaneColumn.ETA in layout.columns or layout.sort == LaneSort.ETA
            if eta_here and lane != BoardLane.DELIVERING:
                raise ValueError(
                    f"layouts.{lane.value}: only the delivering lane has ETAs to show or sort by"
                )
        return self


class SavedViewCreate(Request):
    """A new view; `default: true` opens it at sign-in (and makes it the only default)."""

    name: ViewName
    settings: ViewSettingsIn
    default: bool = False


class SavedViewUpdate(Request):
    """A change to a view: the fields given replace the view's; `version` is the view's as read
    (a stale one answers 409). `default: false` on the default view leaves no default."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    name: ViewName | None = None
    settings: ViewSettingsIn | None = None
    default: bool | None = None


class LaneLayout(Response):
    """One lane's columns, left to right, and sort."""

    columns: list[LaneColumn]
    sort: LaneSort = LaneSort.URGENCY
    descending: bool = False


class ViewSettings(Response):
    """What a view shows (see `ViewSettingsIn`)."""

    search: str = ""
    channel: str | None = None
    warehouse_id: str | None = None
    zones: list[str] = []
    late_only: bool = False
    lanes: list[BoardLane] = list(BoardLane)
    focus: BoardLane | None = None
    layouts: dict[BoardLane, LaneLayout] = {}


class SavedView(Response):
    """One of the caller's views."""

    id: int
    name: str
    default: bool
    settings: ViewSettings
    version: int
    updated_at: datetime
