"""Packing an order into parcels one rider carries, at the limits' edges. Pure: no database."""

from __future__ import annotations

import pytest

from backend.dispatch.parcels import Limits, Line, Parcel, TooHeavy, fits, pack

LIMITS = Limits(max_load_g=20_000, cold_box_g=8_000)


def ambient(line: int, quantity: int, unit_g: int = 1000) -> Line:
    return Line(line, f"AMB-{line}", quantity, unit_g, cold_chain=False)


def cold(line: int, quantity: int, unit_g: int = 1000) -> Line:
    return Line(line, f"COLD-{line}", quantity, unit_g, cold_chain=True)


def test_exactly_one_riders_load_is_one_parcel_and_a_unit_more_is_two() -> None:
    assert len(pack([ambient(1, 20)], LIMITS)) == 1
    parcels = pack([ambient(1, 21)], LIMITS)
    assert [p.weight_g for p in parcels] == [20_000, 1_000]
    assert sum(p.units[1] for p in parcels) == 21  # nothing lost, nothing cut in two


def test_exactly_one_cold_box_is_one_parcel_and_more_is_split() -> None:
    assert len(pack([cold(1, 8), ambient(2, 12)], LIMITS)) == 1
    parcels = pack([cold(1, 9), ambient(2, 5)], LIMITS)
    assert [(p.weight_g, p.cold_weight_g) for p in parcels] == [(13_000, 8_000), (1_000, 1_000)]


def test_mixed_goods_fill_the_cold_box_first_then_the_load() -> None:
    parcels = pack([ambient(1, 15), cold(2, 10)], LIMITS)
    assert all(p.weight_g <= 20_000 and p.cold_weight_g <= 8_000 for p in parcels)
    assert sum(p.units.get(2, 0) for p in parcels) == 10
    assert sum(p.units.get(1, 0) for p in parcels) == 15
    assert len(parcels) == 2


def test_a_unit_no_rider_can_carry_is_refused() -> None:
    with pytest.raises(TooHeavy, match="more than one rider carries"):
        pack([ambient(1, 1, unit_g=25_000)], LIMITS)
    with pytest.raises(TooHeavy, match="cold-chain box"):
        pack([cold(1, 1, unit_g=9_000)], LIMITS)


def test_joining_an_open_parcel_respects_load_box_and_the_riders_box() -> None:
    small = Parcel()
    small.add(cold(1, 2), 2)
    assert fits(18_000, 6_000, small, LIMITS, rider_cold=None)
    assert not fits(18_001, 6_000, small, LIMITS, rider_cold=None)
    assert not fits(10_000, 6_001, small, LIMITS, rider_cold=None)
    assert not fits(1_000, 0, small, LIMITS, rider_cold=False)  # no cold box on that rider
    assert fits(1_000, 0, small, LIMITS, rider_cold=True)
