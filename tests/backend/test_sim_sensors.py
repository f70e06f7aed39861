"""The simulator's vehicle sensors: readings in band, with spells out of it as often as the
trouble multiplier says, in both measures, and always valid readings for the API."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from backend.alerts.rules import Rules
from backend.sim.sensors import SPELL, vehicle_reading

AT = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_readings_stay_in_band_but_for_spells_as_often_as_trouble_says() -> None:
    rules = Rules()
    cold = rules.cold_chain_temperature
    for trouble in (1.0, 10.0):
        rng = random.Random(5)
        readings = [vehicle_reading(rng, 3, trouble, AT) for _ in range(4000)]
        assert all(r.rider_id == 3 and r.at == AT for r in readings)
        warm = sum(1 for r in readings if r.celsius is not None and r.celsius > cold.max_celsius)
        dry = sum(1 for r in readings if r.humidity is not None and r.humidity < 72)
        expected = len(readings) * SPELL * trouble / 2  # half the spells each way
        assert 0.4 * expected <= warm <= 2 * expected + 3, (trouble, warm)
        assert 0.4 * expected <= dry <= 2 * expected + 3, (trouble, dry)
