"""The riders' vehicle sensors: every minute (simulated), each rider carrying orders out for
delivery reports the temperature and relative humidity in their box, through the admin
account (as a fleet telematics gateway would). Mostly in band; now and then (times `trouble`) a
warm or dry spell, for the cold-chain and humidity rules to find."""

from __future__ import annotations

import logging
import random
from datetime import datetime
from typing import TYPE_CHECKING

from backend_client import FreshlineError
from backend_client.models import OrderState, SensorReading

if TYPE_CHECKING:
    from backend.sim.runner import Simulator

log = logging.getLogger(__name__)

READ_EVERY_S = 60.0
SPELL = 0.01
"""The chance that one reading is out of band (at trouble 1)."""


def vehicle_reading(
    rng: random.Random, rider_id: int, trouble: float, at: datetime
) -> SensorReading:
    """One vehicle's reading: about 4 °C and 88 % humidity, or a spell out of band."""
    celsius, humidity = rng.gauss(4.0, 0.8), rng.gauss(88.0, 2.5)
    if rng.random() < SPELL * trouble:
        if rng.random() < 0.5:
            celsius = rng.uniform(9.0, 12.0)  # the box left open
        else:
            humidity = rng.uniform(55.0, 70.0)  # dried out
    return SensorReading(
        rider_id=rider_id,
        celsius=round(celsius, 1),
        humidity=round(min(100.0, max(0.0, humidity)), 1),
        at=at,
    )


async def report_vehicles(sim: Simulator) -> None:
    """Until cancelled: a reading a minute from every rider with orders out for delivery."""
    rng = random.Random(f"{sim.config.seed}:sensors")
    while True:
        await sim.sleep(READ_EVERY_S)
        now = sim.clock.now()
        riders = sorted(
            {
                s.rider_id
                for s in sim.stories.values()
                if s.rider_id is not None and s.status == OrderState.DELIVERING
            }
        )
        if not riders:
            continue
        readings = [vehicle_reading(rng, rider, sim.config.trouble, now) for rider in riders]
        try:
            await sim.cast["admin"].call(lambda c, batch: c.sensors.send(batch), readings)
        except FreshlineError as exc:
            sim.stats.errors += 1
            log.warning("vehicle sensors not reported: %s", exc)
