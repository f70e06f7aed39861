"""Cold-chain sensor readings."""

from __future__ import annotations

from pydantic import (
    Field,
)

from backend_client.models.common import DbId, Moment, Request, Response


class TemperatureReading(Request):
    """One reading of a cold-chain sensor, in an order's box or a rider's vehicle."""

    order_id: DbId | None = None
    rider_id: DbId | None = None
    celsius: float = Field(ge=-60, le=80, allow_inf_nan=False)
    at: Moment


class TemperatureReadings(Request):
    readings: list[TemperatureReading] = Field(min_length=1, max_length=1000)


class ReadingsResult(Response):
    accepted: int
