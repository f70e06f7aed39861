"""The map's projection: known coordinates land on the expected dots and cells; fit, pan and
zoom keep what they promise; lines of dots stay on the map."""

from __future__ import annotations

import math

import pytest

from console.geo_view import (
    DOT_BITS,
    METRES_PER_DEGREE,
    DotCanvas,
    Markers,
    Viewport,
    braille,
    fit,
    rasterise,
)

CENTRE = (39.9, 116.4)
COS = math.cos(math.radians(CENTRE[0]))


def east(metres: float) -> tuple[float, float]:
    return CENTRE[0], CENTRE[1] + metres / (METRES_PER_DEGREE * COS)


def north(metres: float) -> tuple[float, float]:
    return CENTRE[0] + metres / METRES_PER_DEGREE, CENTRE[1]


def view(cols: int = 40, rows: int = 20, metres_per_dot: float = 10.0) -> Viewport:
    """40x20 cells = 80x80 dots of 10 m: 800 m square around CENTRE."""
    return Viewport(*CENTRE, metres_per_dot, cols, rows, ref_lat=CENTRE[0])


def test_the_centre_lands_in_the_middle_cell() -> None:
    v = view()
    assert v.dot(*CENTRE) == pytest.approx((40.0, 40.0))
    assert v.cell(*CENTRE) == (20, 10)


@pytest.mark.parametrize(
    ("point", "cell"),
    [
        (east(205), (30, 10)),  # 20.5 dots east: 10 cells of 2 dots
        (east(-195), (10, 10)),
        (north(60), (20, 8)),  # 6 dots north: into the second cell up, and north is up
        (north(-90), (20, 12)),
        (east(395), (39, 10)),  # the last column
        (north(395), (20, 0)),  # the top row
    ],
)
def test_known_coordinates_land_on_the_expected_cells(
    point: tuple[float, float], cell: tuple[int, int]
) -> None:
    assert view().cell(*point) == cell


def test_longitude_is_squeezed_by_the_cosine_of_the_latitude() -> None:
    """A degree of longitude at 39.9 N is 0.767 of a degree of latitude, on the map too."""
    v = Viewport(*CENTRE, 100.0, 400, 400, ref_lat=CENTRE[0])
    x0, y0 = v.dot(*CENTRE)
    x1, _ = v.dot(CENTRE[0], CENTRE[1] + 0.1)
    _, y1 = v.dot(CENTRE[0] - 0.1, CENTRE[1])
    assert (x1 - x0) / (y1 - y0) == pytest.approx(COS)


def test_points_off_the_map_fall_outside_its_cells() -> None:
    v = view()
    assert not v.contains(*v.cell(*east(405)))
    assert not v.contains(*v.cell(*north(-401)))
    assert v.contains(*v.cell(*east(399)))


def test_latlng_inverts_dot() -> None:
    v = view()
    for point in (east(123), north(-77), (39.95, 116.35)):
        assert v.latlng(*v.dot(*point)) == pytest.approx(point)


def test_fit_shows_every_point_inside_the_map() -> None:
    points = [(39.86, 116.30), (40.03, 116.49), (39.93, 116.45)]
    v = fit(points, 60, 20)
    for point in points:
        col, row = v.cell(*point)
        assert v.contains(col, row)
    # The tighter dimension (here the height: 0.17 degrees over 80 dots) nearly fills the map.
    top = v.cell(40.03, 116.40)[1]
    bottom = v.cell(39.86, 116.40)[1]
    assert top <= 1 and bottom >= 18


def test_pan_moves_by_whole_cells_and_zoom_keeps_the_centre() -> None:
    v = view()
    panned = v.panned(5, -2)  # 5 cells east, 2 north
    assert panned.dot(*CENTRE) == pytest.approx((30.0, 48.0))
    zoomed = v.zoomed(2)
    assert zoomed.metres_per_dot == 5.0
    assert zoomed.cell(*CENTRE) == (20, 10)
    assert zoomed.cell(*east(100)) == (30, 10)  # what was 5 cells away is now 10
    assert v.zoomed(1e9).metres_per_dot >= 1.0  # bounded
    assert v.resized(80, 24).cell(*CENTRE) == (40, 12)


def test_braille_dots_and_bits() -> None:
    assert braille(0) == "\u2800"
    assert braille(0xFF) == "\u28ff"
    canvas = DotCanvas(view(2, 1))
    canvas.dot(0, 0)  # top left dot of cell 0
    canvas.dot(3, 3)  # bottom right dot of cell 1
    assert canvas.cells == {(0, 0): DOT_BITS[0][0], (1, 0): DOT_BITS[1][3]}
    assert braille(canvas.cells[(0, 0)]) == "\u2801"
    assert braille(canvas.cells[(1, 0)]) == "\u2880"


def test_lines_are_clipped_to_the_map() -> None:
    canvas = DotCanvas(view(10, 5))  # 20 x 20 dots
    canvas.line((-1e7, 10.0), (1e7, 10.0))  # a zone's edge zoomed far in: quick, and clipped
    assert {row for _, row in canvas.cells} == {2}
    assert {col for col, _ in canvas.cells} == set(range(10))
    canvas.line((-5.0, -5.0), (-1.0, -50.0))  # entirely off the map
    assert {row for _, row in canvas.cells} == {2}


def test_a_closed_path_outlines_a_polygon() -> None:
    v = view()
    canvas = DotCanvas(v)
    square = [north(100), east(100), north(-100), east(-100)]
    canvas.path(square, closed=True)
    cols = {c for c, _ in canvas.cells}
    rows = {r for _, r in canvas.cells}
    assert min(cols) == v.cell(*east(-100))[0] and max(cols) == v.cell(*east(100))[0]
    assert min(rows) == v.cell(*north(100))[1] and max(rows) == v.cell(*north(-100))[1]
    assert v.cell(*CENTRE) not in canvas.cells  # an outline, not a fill


def test_riders_rasterise_to_the_worst_rank_in_each_cell() -> None:
    v = view()
    markers = Markers.of(
        [
            (*CENTRE, 3),  # idle in the middle cell
            (*east(1), 0),  # late, a metre away: the same cell, and it wins
            (*east(205), 2),  # delivering, 10 cells east
            (*east(1000), 0),  # off the map
        ]
    )
    assert len(markers) == 4
    cells = rasterise(v, markers)
    assert cells == {10 * v.cols + 20: 0, 10 * v.cols + 30: 2}
