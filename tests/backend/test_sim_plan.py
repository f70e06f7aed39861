"""The simulator's plan of the day: repeatable demand, the city's zones and riders' movement."""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import islice, pairwise

import pytest

from backend.sim.city import LatLng, Zone, demo_city, demo_zones
from backend.sim.demand import BEIJING, CHANNEL_MIX, Demand, Doorstep, OrderPlan, demand_weight
from backend.sim.movement import Leg, route
from backend_client.geo import EARTH_RADIUS_M, flat_metres
from backend_client.models import Channel, Code

START = datetime(2025, 3, 3, 0, 0, tzinfo=BEIJING)  # a Monday, midnight in Beijing
# The backend's own pattern for codes such as an order's external id.
CODE = re.compile(Code.__metadata__[0].pattern)
ZONES = {zone.name: zone for zone in demo_zones()}


def plans(seed: int = 1, n: int = 1000, **options: float) -> list[OrderPlan]:
    options.setdefault("orders_per_hour", 72)
    return list(islice(Demand(seed, START, **options), n))


def day(**options: float) -> list[OrderPlan]:
    """Every order of one simulated day from START."""
    end = START + timedelta(days=1)
    plan: list[OrderPlan] = []
    for order in Demand(1, START, **options):
        if order.at >= end:
            return plan
        plan.append(order)
    raise AssertionError("demand ran dry")


def per_hour(orders: list[OrderPlan]) -> Counter[int]:
    return Counter(order.at.astimezone(BEIJING).hour for order in orders)


# On the sphere the simulator measures rides on (`flat_metres`).
def north_of(point: LatLng, metres: float) -> LatLng:
    return (point[0] + math.degrees(metres / EARTH_RADIUS_M), point[1])


def east_of(point: LatLng, metres: float) -> LatLng:
    across = EARTH_RADIUS_M * math.cos(math.radians(point[0]))
    return (point[0], point[1] + math.degrees(metres / across))


# --- demand ----------------------------------------------------------------------------------


def test_the_same_seed_and_start_give_the_same_orders() -> None:
    def course(order: OrderPlan) -> tuple[object, ...]:
        return (
            order.at,
            order.channel,
            order.external_id,
            order.zone,
            order.customer,
            order.items,
            order.promise_minutes,
            order.fate,
        )

    first = [course(order) for order in plans(seed=7, n=300)]
    again = [course(order) for order in plans(seed=7, n=300)]
    other = [course(order) for order in plans(seed=8, n=300)]
    assert first == again
    assert [c[0] for c in first] != [c[0] for c in other]  # arrivals differ
    assert [c[1:] for c in first] != [c[1:] for c in other]  # and so do the orders
    assert len({c[2] for c in first}) == 300  # every order has its own id


def test_orders_arrive_in_time_order_with_a_sensible_promise() -> None:
    orders = plans(n=500)
    assert orders[0].at > START
    assert all(a.at < b.at for a, b in pairwise(orders))
    assert [order.index for order in orders] == list(range(1, 501))
    assert all(30 <= order.promise_minutes <= 60 for order in orders)
    for order in orders:
        assert order.items and all(quantity >= 1 for _, quantity in order.items)


def test_every_channel_orders_in_roughly_its_share() -> None:
    orders = plans(n=500)
    counts = Counter(order.channel for order in orders)
    assert set(counts) == set(Channel)
    for channel, share in CHANNEL_MIX.items():
        assert abs(counts[channel] / len(orders) - share) < 0.06, channel


def test_demand_peaks_at_lunch_and_dinner() -> None:
    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2025, 3, 3, hour, minute, tzinfo=BEIJING)

    peaks = [demand_weight(at(12)), demand_weight(at(18, 30))]
    lulls = [demand_weight(at(3)), demand_weight(at(15))]
    assert min(peaks) > max(lulls)
    # The curve is read in Beijing time, whatever zone the clock reports in.
    assert demand_weight(at(12).astimezone(BEIJING.utc)) == demand_weight(at(12))


def test_a_day_is_busy_at_lunch_and_quiet_at_night() -> None:
    hours = per_hour(day(orders_per_hour=72))
    lunch = hours[11] + hours[12]
    night = hours[2] + hours[3]
    assert lunch > 5 * max(night, 1)


def test_a_flat_day_keeps_to_the_hourly_rate() -> None:
    orders = day(orders_per_hour=60, flat=True)
    assert 0.9 * 24 * 60 <= len(orders) <= 1.1 * 24 * 60
    hours = per_hour(orders)
    assert all(30 <= hours[hour] <= 90 for hour in range(24)), hours


def test_no_trouble_means_no_incidents() -> None:
    for order in plans(trouble=0):
        fate = order.fate
        assert fate.pays
        assert not fate.short_while_picking
        assert not fate.accident
        assert fate.doorstep is Doorstep.SIGNED


def test_much_trouble_brings_every_kind_of_incident() -> None:
    fates = [order.fate for order in plans(trouble=10)]
    assert any(not fate.pays for fate in fates)
    assert any(fate.short_while_picking for fate in fates)
    assert any(fate.accident for fate in fates)
    assert {fate.doorstep for fate in fates} == set(Doorstep)


def test_external_ids_are_codes_the_backend_accepts() -> None:
    for order in plans(n=500):
        assert CODE.fullmatch(order.external_id), order.external_id


def test_regular_customers_are_the_same_people_every_time() -> None:
    seen: dict[tuple[str, str], set[tuple[object, ...]]] = defaultdict(set)
    # A later start replays other orders, but the zone's regulars are the seed's regulars.
    later = list(islice(Demand(1, START + timedelta(days=3), orders_per_hour=72), 1000))
    for order in plans(n=1000) + later:
        c = order.customer
        seen[order.zone, c.phone].add((c.name, c.address, c.lat, c.lng))
    assert all(len(people) == 1 for people in seen.values())
    assert len(seen) < 2000  # some regulars did order again
    for (zone, _), people in seen.items():
        ((_, address, _, _),) = people
        assert address.endswith(f", {zone}")


# Seed 295 draws a Dongcheng regular (order 429) whose point was rounded after the inside check.
@pytest.mark.parametrize("seed", [1, 295])
def test_every_customer_lives_inside_their_zone(seed: int) -> None:
    for order in plans(seed=seed, n=1000):
        point = (order.customer.lat, order.customer.lng)
        assert ZONES[order.zone].contains(point), (order.index, order.zone, point)


def test_orders_per_hour_must_be_positive() -> None:
    for rate in (0, -5):
        with pytest.raises(ValueError):
            Demand(1, START, orders_per_hour=rate)


# --- city ------------------------------------------------------------------------------------

SQUARE = Zone("Square", "WH-SQ", ((0, 0), (0, 1), (1, 1), (1, 0)), ("Square St",))
# A U open to the north: the notch (lat 1..3, lng 1..2) is outside.
U_SHAPE = Zone(
    "U",
    "WH-U",
    ((0, 0), (0, 3), (3, 3), (3, 2), (1, 2), (1, 1), (3, 1), (3, 0)),
    ("U St",),
)


def test_a_zone_contains_what_lies_within_its_border() -> None:
    assert SQUARE.contains((0.5, 0.5))
    assert SQUARE.contains((0.01, 0.99))
    for outside in [(1.5, 0.5), (0.5, -0.2), (-0.1, -0.1), (2, 2)]:
        assert not SQUARE.contains(outside), outside
    for inside in [(0.5, 1.5), (2, 0.5), (2, 2.5)]:
        assert U_SHAPE.contains(inside), inside
    for outside in [(2, 1.5), (2.9, 1.1), (4, 1), (1.5, 5)]:
        assert not U_SHAPE.contains(outside), outside


def test_random_points_fall_inside_the_zone() -> None:
    rng = random.Random(3)
    points = [U_SHAPE.random_point(rng) for _ in range(2000)]
    assert all(U_SHAPE.contains(point) for point in points)
    assert any(p[0] > 1 and p[1] < 1 for p in points)  # both arms of the U are reached
    assert any(p[0] > 1 and p[1] > 2 for p in points)
    for zone in demo_zones():
        assert all(zone.contains(zone.random_point(rng)) for _ in range(200)), zone.name


def test_a_random_point_next_to_the_border_stays_inside() -> None:
    # The draw lands a fraction of a micro-degree inside Haidian's border.
    haidian = ZONES["Haidian"]
    point = haidian.random_point(random.Random(20767))
    assert haidian.contains(point), point


def test_each_warehouse_has_its_own_zone_around_it() -> None:
    warehouses = demo_city()["warehouses"]
    zones = {zone.warehouse_id: zone for zone in demo_zones()}
    assert len(zones) == len(demo_zones()) == len(warehouses)
    assert set(zones) == {w["id"] for w in warehouses}
    for warehouse in warehouses:
        assert zones[warehouse["id"]].contains((warehouse["lat"], warehouse["lng"])), warehouse


# --- movement --------------------------------------------------------------------------------

SANLITUN = (39.9334, 116.455)
DEPART = datetime(2025, 3, 3, 12, 0, tzinfo=BEIJING)


def test_a_route_runs_along_the_grid_from_start_to_end() -> None:
    rng = random.Random(5)
    first_legs = set()
    for _ in range(200):
        start = (39.9 + rng.uniform(-0.05, 0.05), 116.4 + rng.uniform(-0.05, 0.05))
        end = (39.9 + rng.uniform(-0.05, 0.05), 116.4 + rng.uniform(-0.05, 0.05))
        points = route(start, end, rng)
        assert points[0] == start and points[-1] == end
        for a, b in pairwise(points):
            assert a[0] == b[0] or a[1] == b[1], (a, b)  # only along one axis at a time
        for lat, lng in points:
            assert min(start[0], end[0]) <= lat <= max(start[0], end[0])
            assert min(start[1], end[1]) <= lng <= max(start[1], end[1])
        first_legs.add("east-west" if points[1][0] == start[0] else "north-south")
    assert first_legs == {"east-west", "north-south"}
    assert route(SANLITUN, SANLITUN, rng) == [SANLITUN, SANLITUN]


def test_a_ride_takes_its_length_at_its_speed() -> None:
    end = north_of(SANLITUN, 1000)
    leg = Leg.ride([SANLITUN, end], DEPART, speed_kmh=20)
    assert (leg.arrive - leg.depart).total_seconds() == pytest.approx(180, abs=1e-3)
    assert leg.speed_kmh() == pytest.approx(20)


def test_a_rider_is_where_the_clock_says() -> None:
    end = north_of(SANLITUN, 1000)
    leg = Leg.ride([SANLITUN, end], DEPART, speed_kmh=20)
    assert leg.position(DEPART - timedelta(minutes=5)) == SANLITUN
    assert leg.position(DEPART) == SANLITUN
    assert leg.position(leg.arrive) == pytest.approx(end)
    assert leg.position(leg.arrive + timedelta(hours=1)) == end
    half = leg.position(DEPART + timedelta(seconds=90))
    assert flat_metres(SANLITUN, half) == pytest.approx(500, abs=3)
    assert flat_metres(half, end) == pytest.approx(500, abs=3)


def test_half_way_round_a_corner_is_at_the_corner() -> None:
    corner = north_of(SANLITUN, 1000)
    end = east_of(corner, 1000)
    leg = Leg.ride([SANLITUN, corner, end], DEPART, speed_kmh=15)
    assert (leg.arrive - leg.depart).total_seconds() == pytest.approx(480, abs=0.1)
    assert leg.speed_kmh() == pytest.approx(15)
    half = leg.position(DEPART + (leg.arrive - DEPART) / 2)
    assert flat_metres(half, corner) < 3
    three_quarters = leg.position(DEPART + (leg.arrive - DEPART) * 3 / 4)
    assert flat_metres(three_quarters, corner) == pytest.approx(500, abs=3)
    assert flat_metres(three_quarters, end) == pytest.approx(500, abs=3)


def test_a_stay_stays_put() -> None:
    leg = Leg.stay(SANLITUN, DEPART, DEPART + timedelta(minutes=10))
    for minutes in (-1, 0, 5, 10, 60):
        assert leg.position(DEPART + timedelta(minutes=minutes)) == SANLITUN
    assert leg.speed_kmh() == 0
    assert Leg.stay(SANLITUN, DEPART, DEPART).speed_kmh() == 0
