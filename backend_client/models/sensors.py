"""Sensor readings: temperature and relative humidity of order boxes and riders' vehicles."""

from __future__ import annotations

from typing import Self

from pydantic import (
    AwareDatetime,
    Field,
    model_validator,
)

from backend_client.models.common import DbId, Moment, Request, Response


class TemperatureReading(Request):
    """One reading of a sensor in an order's box or a rider's vehicle: temperature, relative
    humidity, or both (a humidity sensor alone sends no temperature)."""

    order_id: DbId | None = None
    rider_id: DbId | None = None
    celsius: float | None = Field(default=None, ge=-60, le=80, allow_inf_nan=False)
    humidity: float | None = Field(
        default=None, ge=0, le=100, allow_inf_nan=False, description="Relative humidity, %."
    )
    at: Moment

    @model_validator(mode="after")
    def _measures_something(self) -> Self:
        if self.celsius is None and self.humidity is None:
            raise ValueError("a reading needs celsius, humidity or both")
        return self


SensorReading = TemperatureReading
"""The same reading under the name it has since it carries humidity too."""


class TemperatureReadings(Request):
    readings: list[TemperatureReading] = Field(min_length=1, max_length=1000)


class ReadingsResult(Response):
    accepted: int


class LatestReading(Response):
    """The newest value of one measure from one sensor."""

    source: str = Field(description='"box" (the order\'s own) or "vehicle" (its rider\'s).')
    value: float
    at: AwareDatetime


class OrderSensors(Response):
    """Answer of `GET /orders/{id}/sensors`: the newest temperature and humidity that speak for
    the order now (its box's or its rider's vehicle's, the newer), within the rules' reading
    age, and the humidity bands of its classes of goods."""

    celsius: LatestReading | None
    humidity: LatestReading | None
    humidity_bands: dict[str, tuple[float, float]] = Field(
        description="Per class of goods in the order (catalogue category): (min, max) %."
    )
    celsius_band: tuple[float, float] | None = Field(
        description="For a cold-chain order, the allowed range in °C; else None."
    )
