"""The map's geometry, without Textual: latitude and longitude onto braille dots and terminal
cells, the viewport (pan, zoom, fit), and a dot canvas that draws lines.

Equirectangular with a cos(latitude) correction, fine for one city: x grows east, y grows
south. A terminal cell holds 2x4 braille dots and is about twice as tall as it is wide, so a
dot is about square and one scale (metres per dot) serves both axes.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

DOTS_X, DOTS_Y = 2, 4
"""Braille dots per terminal cell, across and down."""
METRES_PER_DEGREE = 6_371_000.0 * math.pi / 180
ZOOM_STEP = 1.5
MIN_METRES_PER_DOT, MAX_METRES_PER_DOT = 2.0, 5_000.0

LatLng = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Viewport:
    """What part of the world the map shows, on how many cells."""

    lat: float
    lng: float
    """The point at the centre of the map."""
    metres_per_dot: float
    cols: int
    rows: int
    ref_lat: float = 0.0
    """The latitude whose cosine squeezes longitude: fixed at `fit`, so panning north or
    south moves the map without reshaping it."""

    @property
    def dots_wide(self) -> int:
        return self.cols * DOTS_X

    @property
    def dots_high(self) -> int:
        return self.rows * DOTS_Y

    @property
    def _kx(self) -> float:
        """Dots per degree of longitude."""
        return METRES_PER_DEGREE * math.cos(math.radians(self.ref_lat)) / self.metres_per_dot

    @property
    def _ky(self) -> float:
        """Dots per degree of latitude."""
        return METRES_PER_DEGREE / self.metres_per_dot

    def dot(self, lat: float, lng: float) -> tuple[float, float]:
        """Where (lat, lng) falls, in dots from the map's top left corner (not rounded)."""
        x = self.dots_wide / 2 + (lng - self.lng) * self._kx
        y = self.dots_high / 2 - (lat - self.lat) * self._ky
        return x, y

    def cell(self, lat: float, lng: float) -> tuple[int, int]:
        """The terminal cell (column, row) that (lat, lng) falls in; may be off the map."""
        x, y = self.dot(lat, lng)
        return math.floor(x) // DOTS_X, math.floor(y) // DOTS_Y

    def projector(self) -> tuple[float, float, float, float]:
        """(x0, kx, y0, ky) such that a dot is (x0 + lng * kx, y0 - lat * ky): for loops over
        thousands of points, which cannot afford a method call each."""
        kx, ky = self._kx, self._ky
        return self.dots_wide / 2 - self.lng * kx, kx, self.dots_high / 2 + self.lat * ky, ky

    def contains(self, col: int, row: int) -> bool:
        return 0 <= col < self.cols and 0 <= row < self.rows

    def latlng(self, x: float, y: float) -> LatLng:
        """The point at dot (x, y): the inverse of `dot`."""
        return (
            self.lat - (y - self.dots_high / 2) / self._ky,
            self.lng + (x - self.dots_wide / 2) / self._kx,
        )

    # --- moving -------------------------------------------------------------------------------

    def panned(self, cols: float, rows: float) -> Viewport:
        """Moved by whole cells (positive: east and south)."""
        lat, lng = self.latlng(
            self.dots_wide / 2 + cols * DOTS_X, self.dots_high / 2 + rows * DOTS_Y
        )
        return replace(self, lat=lat, lng=lng)

    def zoomed(self, factor: float) -> Viewport:
        """Closer (factor > 1) or further (factor < 1) about the centre, within bounds."""
        scale = self.metres_per_dot / factor
        return replace(self, metres_per_dot=min(MAX_METRES_PER_DOT, max(MIN_METRES_PER_DOT, scale)))

    def resized(self, cols: int, rows: int) -> Viewport:
        """The same centre and scale on another number of cells."""
        return replace(self, cols=max(1, cols), rows=max(1, rows))

    def centred(self, lat: float, lng: float) -> Viewport:
        return replace(self, lat=lat, lng=lng)


MIN_FIT_SPAN_M = 1_000.0
"""`fit` shows at least this much ground (one point, or a track that has barely begun)."""


def fit(points: Iterable[LatLng], cols: int, rows: int, *, margin: float = 0.05) -> Viewport:
    """The viewport that shows every point on `cols` x `rows` cells, with a margin (and at
    least `MIN_FIT_SPAN_M` of ground across)."""
    pts = list(points)
    cols, rows = max(1, cols), max(1, rows)
    if not pts:
        return Viewport(0.0, 0.0, MAX_METRES_PER_DOT, cols, rows)
    lats = [p[0] for p in pts]
    lngs = [p[1] for p in pts]
    lat = (min(lats) + max(lats)) / 2
    lng = (min(lngs) + max(lngs)) / 2
    width_m = (max(lngs) - min(lngs)) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    height_m = (max(lats) - min(lats)) * METRES_PER_DEGREE
    width_m, height_m = max(width_m, MIN_FIT_SPAN_M), max(height_m, MIN_FIT_SPAN_M)
    usable = 1 - 2 * margin
    scale = max(width_m / (cols * DOTS_X * usable), height_m / (rows * DOTS_Y * usable))
    scale = min(MAX_METRES_PER_DOT, max(MIN_METRES_PER_DOT, scale))
    return Viewport(lat, lng, scale, cols, rows, ref_lat=lat)


# --- drawing dots -------------------------------------------------------------------------------

BRAILLE_BASE = 0x2800
# The bit of each dot in a braille cell, by (x, y) inside the cell (Unicode's numbering).
DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def braille(bits: int) -> str:
    """The braille character with these dots raised."""
    return chr(BRAILLE_BASE + bits)


class DotCanvas:
    """Raised braille dots by cell: `cells[(col, row)]` is the cell's dot bits. Only what falls
    on the map is kept."""

    def __init__(self, view: Viewport) -> None:
        self.view = view
        self.cells: dict[tuple[int, int], int] = {}
        self._w, self._h = view.dots_wide, view.dots_high

    def dot(self, x: float, y: float) -> None:
        ix, iy = math.floor(x), math.floor(y)
        if 0 <= ix < self._w and 0 <= iy < self._h:
            key = (ix // DOTS_X, iy // DOTS_Y)
            self.cells[key] = self.cells.get(key, 0) | DOT_BITS[ix % DOTS_X][iy % DOTS_Y]

    def line(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        """A straight line of dots from a to b (dot coordinates), clipped to the map."""
        clipped = _clip(a, b, self._w, self._h)
        if clipped is None:
            return
        (x0, y0), (x1, y1) = clipped
        steps = max(1, math.ceil(max(abs(x1 - x0), abs(y1 - y0))))
        dx, dy = (x1 - x0) / steps, (y1 - y0) / steps
        for i in range(steps + 1):
            self.dot(x0 + dx * i, y0 + dy * i)

    def path(self, points: Sequence[LatLng], *, closed: bool = False) -> None:
        """A polyline through geographic points (a polygon's outline when `closed`)."""
        dots = [self.view.dot(lat, lng) for lat, lng in points]
        if closed and len(dots) > 2:
            dots.append(dots[0])
        if len(dots) == 1:
            self.dot(*dots[0])
        for a, b in itertools.pairwise(dots):
            self.line(a, b)


def _clip(
    a: tuple[float, float], b: tuple[float, float], w: float, h: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Liang-Barsky: the part of segment a-b inside [0, w) x [0, h), or None. Zoomed far in,
    a zone's edge can be millions of dots long: only what is on the map is walked."""
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0), (dx, w - 1e-9 - x0), (-dy, y0), (dy, h - 1e-9 - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return (x0 + t0 * dx, y0 + t0 * dy), (x0 + t1 * dx, y0 + t1 * dy)


# --- riders as cells ----------------------------------------------------------------------------


@dataclass(slots=True)
class Markers:
    """Riders for the map as three flat arrays (latitudes, longitudes, ranks): no object per
    rider, so handing the map 10,000 riders four times a second leaves the garbage collector
    nothing to walk (a list of 10,000 tuples made it walk the whole heap, several ms a tick)."""

    lats: array[float] = field(default_factory=lambda: array("d"))
    lngs: array[float] = field(default_factory=lambda: array("d"))
    ranks: array[int] = field(default_factory=lambda: array("b"))

    def add(self, lat: float, lng: float, rank: int) -> None:
        self.lats.append(lat)
        self.lngs.append(lng)
        self.ranks.append(rank)

    @classmethod
    def of(cls, riders: Iterable[tuple[float, float, int]]) -> Markers:
        markers = cls()
        for lat, lng, rank in riders:
            markers.add(lat, lng, rank)
        return markers

    def __len__(self) -> int:
        return len(self.ranks)


def rasterise(view: Viewport, riders: Markers) -> dict[int, int]:
    """The worst rank in each cell that has a rider, by cell number (row * cols + col): one
    pass, arithmetic inlined, ints only (this is the loop that 10,000 riders go through on
    every redraw)."""
    x0, kx, y0, ky = view.projector()
    w, h, cols = view.dots_wide, view.dots_high, view.cols
    cells: dict[int, int] = {}
    get = cells.get
    for lat, lng, rank in zip(riders.lats, riders.lngs, riders.ranks, strict=True):
        x = x0 + lng * kx
        y = y0 - lat * ky
        if 0 <= x < w and 0 <= y < h:
            cell = (int(y) // DOTS_Y) * cols + int(x) // DOTS_X
            held = get(cell)
            if held is None or rank < held:
                cells[cell] = rank
    return cells
