"""The city in the terminal: zones as braille outlines, warehouses, riders as one glyph per cell
(the worst state in the cell wins), a route or a track drawn as a line of dots, pins on it.

Cheap on purpose, through the line API: the static layer (zones, labels, warehouses) is drawn
once per viewport and size into runs of text per row; each redraw only rasterises riders into a
dict of cells (one pass, no per-rider objects) and splices them into the rows. Redraws are
bounded (`max_hz`) and happen only when the riders or the viewport changed.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from console.geo_view import (
    DOTS_X,
    ZOOM_STEP,
    DotCanvas,
    LatLng,
    Markers,
    Viewport,
    braille,
    fit,
    rasterise,
)

RANK_GLYPH = ("!", "?", ">", "o")
"""A rider's glyph by rank (0 = worst): late, silent, delivering, idle. Read without colour."""
RANK_CLASS = ("late", "silent", "delivering", "idle")
WAREHOUSE_GLYPH = "W"
PAN_CELLS = 4


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone's outline on the map (its polygon as (lat, lng) points)."""

    name: str
    polygon: tuple[LatLng, ...]


@dataclass(frozen=True, slots=True)
class Place:
    """A warehouse (or any labelled point) of the static layer."""

    name: str
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Pin:
    """A marker over the riders: the selected rider, a route's stops, a replay's position."""

    lat: float
    lng: float
    glyph: str
    kind: str
    """Its component class, without the `map--` prefix."""


Run = tuple[int, str, str]
"""(first column, text, class) of a stretch of a row in one style."""


class RiderMap(Widget, can_focus=True):
    """The map; `set_geography` and `show` give it what to draw."""

    COMPONENT_CLASSES = {
        "map--blank",
        "map--zone",
        "map--label",
        "map--warehouse",
        "map--idle",
        "map--delivering",
        "map--late",
        "map--silent",
        "map--route",
        "map--track",
        "map--stop",
        "map--selected",
        "map--here",
    }
    DEFAULT_CSS = """
    RiderMap { height: 1fr; width: 1fr; border: round $panel-lighten-2; }
    RiderMap:focus { border: round $accent; }
    RiderMap > .map--zone { color: $map-zone; }
    RiderMap > .map--label { color: $map-zone; text-style: italic; }
    RiderMap > .map--warehouse { color: $map-warehouse; text-style: bold; }
    RiderMap > .map--idle { color: $rider-idle; }
    RiderMap > .map--delivering { color: $rider-delivering; text-style: bold; }
    RiderMap > .map--late { color: $rider-late; text-style: bold; }
    RiderMap > .map--silent { color: $rider-silent; }
    RiderMap > .map--route { color: $map-route; }
    RiderMap > .map--track { color: $map-route; }
    RiderMap > .map--stop { color: $map-route; text-style: bold; }
    RiderMap > .map--selected { text-style: bold reverse; }
    RiderMap > .map--here { color: $map-route; text-style: bold reverse; }
    """
    BINDINGS = [
        Binding("left,h", "pan(-1, 0)", "Pan", show=False, id="map.pan_left"),
        Binding("right,l", "pan(1, 0)", "Pan", show=False, id="map.pan_right"),
        Binding("up,k", "pan(0, -1)", "Pan", show=False, id="map.pan_up"),
        Binding("down,j", "pan(0, 1)", "Pan", show=False, id="map.pan_down"),
    ]

    class Moved(Message):
        """The viewport changed (pan, zoom, fit, resize)."""

    def __init__(self, *, max_hz: float = 4.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_hz = max_hz
        self.zones: tuple[Zone, ...] = ()
        self.places: tuple[Place, ...] = ()
        self.view: Viewport | None = None
        self.fit_points: list[LatLng] | None = None
        """What `fit` (and `0`) shows: these points when set (a replayed track), else the
        zones and warehouses."""
        self.moved_by_hand = False
        """Panned or zoomed: a resize keeps the viewport instead of fitting again."""
        self._riders = Markers()
        self._paths: list[tuple[Sequence[LatLng], str]] = []
        self._pins: list[Pin] = []
        self._static: list[list[Run]] = []
        self._static_bits: dict[tuple[int, int], int] = {}
        self._labelled: set[tuple[int, int]] = set()
        """Cells (col, row) of zone names and warehouse marks: nothing is drawn over them."""
        self._static_key: object = None
        self._overlay: dict[int, dict[int, tuple[str, str]]] = {}
        self._dirty = True
        self.clock: Callable[[], float] = time.monotonic
        """Seconds, for the bounded rate (tests drive it by hand)."""
        self._drawn_at = 0.0
        self._pending: Timer | None = None
        self._styles: dict[str, Style] = {}
        self.frames = 0
        """Redraws so far (tests and the bench count them)."""

    # --- what to draw -------------------------------------------------------------------------

    def set_geography(self, zones: Iterable[Zone], places: Iterable[Place]) -> None:
        """The static layer; fits the map to it unless the user moved the map already."""
        self.zones, self.places = tuple(zones), tuple(places)
        self._static_key = None
        if not self.moved_by_hand:
            self.view = self._fitted()
        self._redraw_soon()

    def show(
        self,
        riders: Markers | None = None,
        paths: list[tuple[Sequence[LatLng], str]] | None = None,
        pins: list[Pin] | None = None,
        *,
        now: bool = False,
    ) -> None:
        """New things to draw (None: keep what it had), drawn at the bounded rate, or `now`
        (a key was pressed: a person is waiting for it).

        `riders`: every rider's position and rank, 0 the worst (see RANK_GLYPH);
        `paths`: lines of dots over the zones, (points, "route" or "track"); `pins`: markers
        over the riders."""
        if riders is not None:
            self._riders = riders
        if paths is not None:
            self._paths = paths
        if pins is not None:
            self._pins = pins
        self._redraw_soon(now=now)

    def centre_on(self, lat: float, lng: float) -> None:
        """Bring a point into view (the selected rider) if it is off the map."""
        if self.view is None:
            return
        if not self.view.contains(*self.view.cell(lat, lng)):
            self._move(self.view.centred(lat, lng))

    # --- the viewport -------------------------------------------------------------------------

    def _fitted(self) -> Viewport | None:
        cols, rows = self.size.width, self.size.height
        if cols <= 0 or rows <= 0:
            return None
        if self.fit_points:
            return fit(self.fit_points, cols, rows, margin=0.1)
        points = [p for zone in self.zones for p in zone.polygon]
        points += [(p.lat, p.lng) for p in self.places]
        if not points:
            points = list(zip(self._riders.lats, self._riders.lngs, strict=True))
        return fit(points, cols, rows) if points else None

    def _move(self, view: Viewport | None) -> None:
        if view is None or view == self.view:
            return
        self.view = view
        self.border_subtitle = scale_words(view)
        self.post_message(self.Moved())
        self._redraw_soon(now=True)

    def action_pan(self, cols: int, rows: int) -> None:
        if self.view is not None:
            self.moved_by_hand = True
            self._move(self.view.panned(cols * PAN_CELLS, rows * PAN_CELLS // 2 or rows))

    def zoom(self, direction: int) -> None:
        """In (1), out (-1), or fit everything again (0)."""
        if direction == 0:
            self.moved_by_hand = False
            self._move(self._fitted())
        elif self.view is not None:
            self.moved_by_hand = True
            self._move(self.view.zoomed(ZOOM_STEP if direction > 0 else 1 / ZOOM_STEP))

    def on_resize(self) -> None:
        cols, rows = self.size.width, self.size.height
        if self.view is None or not self.moved_by_hand:
            self._move(self._fitted())
        else:
            self._move(self.view.resized(cols, rows))

    # --- redrawing, bounded -------------------------------------------------------------------

    def _redraw_soon(self, *, now: bool = False) -> None:
        self._dirty = True
        if not self.is_mounted:
            return
        wait = 1 / self.max_hz - (self.clock() - self._drawn_at)
        if now or wait <= 0:
            self.redraw()
        elif self._pending is None:
            self._pending = self.set_timer(wait, self.redraw)

    def redraw(self) -> None:
        """Rasterise what changed and repaint (at most `max_hz` times a second)."""
        self._pending = None
        if not self._dirty or self.view is None:
            return
        self._dirty = False
        self._drawn_at = self.clock()
        self.frames += 1
        self._build_static()
        self._build_overlay()
        self.refresh()

    def _build_static(self) -> None:
        view = self.view
        assert view is not None
        key = (view, self.zones, self.places)
        if key == self._static_key:
            return
        self._static_key = key
        canvas = DotCanvas(view)
        for zone in self.zones:
            canvas.path(zone.polygon, closed=True)
        cols, rows = view.cols, view.rows
        chars = [[" "] * cols for _ in range(rows)]
        kinds = [["blank"] * cols for _ in range(rows)]
        for (col, row), bits in canvas.cells.items():
            chars[row][col], kinds[row][col] = braille(bits), "zone"
        warehouses = {view.cell(place.lat, place.lng) for place in self.places}
        taken = set(warehouses)
        for zone in self.zones:
            if not zone.polygon:
                continue
            lat = sum(p[0] for p in zone.polygon) / len(zone.polygon)
            lng = sum(p[1] for p in zone.polygon) / len(zone.polygon)
            col, row = view.cell(lat, lng)
            start = col - len(zone.name) // 2
            row = _free_row(taken, row, start, len(zone.name))
            taken.update((c, row) for c in range(start, start + len(zone.name)))
            # A blank either side, so a rider beside the name does not read as part of it.
            self._write(chars, kinds, row, start - 1, f" {zone.name} ", "label")
        for col, row in warehouses:
            self._write(chars, kinds, row, col, WAREHOUSE_GLYPH, "warehouse")
        self._static_bits = canvas.cells
        self._labelled = {
            (col, row)
            for row in range(rows)
            for col in range(cols)
            if kinds[row][col] in ("label", "warehouse")
        }
        self._static = [_runs(chars[row], kinds[row]) for row in range(rows)]

    @staticmethod
    def _write(
        chars: list[list[str]], kinds: list[list[str]], row: int, start: int, text: str, kind: str
    ) -> None:
        if not 0 <= row < len(chars):
            return
        for i, char in enumerate(text):
            col = start + i
            if 0 <= col < len(chars[row]):
                chars[row][col], kinds[row][col] = char, kind

    def _build_overlay(self) -> None:
        """Paths, then riders (worst per cell), then pins, by row and column. Zone names and
        warehouse marks stay readable: a path passes under them, and a rider or a pin on one
        is drawn in the nearest free cell above or below it."""
        view = self.view
        assert view is not None
        labelled = self._labelled
        overlay: dict[int, dict[int, tuple[str, str]]] = {}
        for points, kind in self._paths:
            canvas = DotCanvas(view)
            canvas.path(points)
            for (col, row), bits in canvas.cells.items():
                if (col, row) in labelled:
                    continue
                bits |= self._static_bits.get((col, row), 0)
                overlay.setdefault(row, {})[col] = (braille(bits), kind)
        cols = view.cols
        moved: dict[tuple[int, int], int] = {}
        for cell, rank in rasterise(view, self._riders).items():
            row, col = divmod(cell, cols)
            if (col, row) in labelled:
                moved[(col, row)] = rank  # after the others: the free cell keeps the worst
                continue
            overlay.setdefault(row, {})[col] = (RANK_GLYPH[rank], RANK_CLASS[rank])
        for (col, row), rank in moved.items():
            spot = self._beside(col, row)
            if spot is None:
                continue
            line = overlay.setdefault(spot[1], {})
            held = line.get(spot[0])
            if held is not None and held[1] in RANK_CLASS and RANK_CLASS.index(held[1]) <= rank:
                continue
            line[spot[0]] = (RANK_GLYPH[rank], RANK_CLASS[rank])
        for pin in self._pins:
            col, row = view.cell(pin.lat, pin.lng)
            if view.contains(col, row):
                spot = self._beside(col, row) if (col, row) in labelled else (col, row)
                if spot is not None:
                    overlay.setdefault(spot[1], {})[spot[0]] = (pin.glyph, pin.kind)
        self._overlay = overlay

    def _beside(self, col: int, row: int) -> tuple[int, int] | None:
        """The nearest cell to (col, row) that holds no name or mark: above or below first
        (a name is one row high), then to either side."""
        view = self.view
        assert view is not None
        for dc, dr in ((0, -1), (0, 1), (0, -2), (0, 2), (-1, 0), (1, 0), (-1, -1), (1, 1)):
            spot = (col + dc, row + dr)
            if spot not in self._labelled and view.contains(*spot):
                return spot
        return None

    # --- the line API -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._styles = {}
        super().notify_style_update()

    def _style(self, kind: str) -> Style:
        style = self._styles.get(kind)
        if style is None:
            base = self.rich_style
            if kind.startswith("selected-"):
                # The selected rider: its state's colour, reversed.
                state = self.get_component_rich_style(f"map--{kind.removeprefix('selected-')}")
                style = base + state + self.get_component_rich_style("map--selected")
            else:
                style = base + self.get_component_rich_style(f"map--{kind}")
            self._styles[kind] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._static):
            return Strip.blank(width, self.rich_style)
        runs = self._static[y]
        over = self._overlay.get(y)
        style = self._style
        if not over:
            segments = [Segment(text, style(kind)) for _, text, kind in runs]
        else:
            segments = _splice(runs, over, style)
        return Strip(segments).adjust_cell_length(width, self.rich_style)


LABEL_SHIFTS = (0, 1, -1, 2, -2)
"""Rows a zone name may move by, nearest first, to keep clear of warehouses and other names."""


def _free_row(taken: set[tuple[int, int]], row: int, start: int, length: int) -> int:
    """The nearest row to `row` where a name of `length` cells from `start` covers nothing in
    `taken` (warehouse marks, names already placed); `row` itself if none is free."""
    for shift in LABEL_SHIFTS:
        if not any((c, row + shift) in taken for c in range(start, start + length)):
            return row + shift
    return row


def _runs(chars: list[str], kinds: list[str]) -> list[Run]:
    runs: list[Run] = []
    col = 0
    for kind, group in itertools.groupby(zip(chars, kinds, strict=True), key=lambda p: p[1]):
        text = "".join(char for char, _ in group)
        runs.append((col, text, kind))
        col += len(text)
    return runs


def _splice(
    runs: list[Run], over: dict[int, tuple[str, str]], style: Callable[[str], Style]
) -> list[Segment]:
    """A row's static runs with the overlay's cells put in their place."""
    segments: list[Segment] = []
    marks = sorted(over)
    i = 0
    for start, text, kind in runs:
        end = start + len(text)
        at = start
        while i < len(marks) and marks[i] < end:
            col = marks[i]
            if col >= at:
                if col > at:
                    segments.append(Segment(text[at - start : col - start], style(kind)))
                char, mark_kind = over[col]
                segments.append(Segment(char, style(mark_kind)))
                at = col + 1
            i += 1
        if at < end:
            segments.append(Segment(text[at - start :], style(kind)))
    return segments


def scale_words(view: Viewport | None, cells: int = 10) -> str:
    """How far `cells` columns are on the ground, in words ("10 cells = 1.2 km")."""
    if view is None:
        return ""
    metres = view.metres_per_dot * DOTS_X * cells
    distance = f"{metres / 1000:.1f} km" if metres >= 1000 else f"{math.ceil(metres)} m"
    return f"{cells} cols: {distance}"
