"""`client.sensors`: temperature and humidity readings in, the newest for an order out."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import (
    OrderSensors,
    ReadingsResult,
    TemperatureReading,
    TemperatureReadings,
)


class Sensors(Resource):
    """Temperature and humidity sensors in order boxes and rider vehicles."""

    async def send(
        self, readings: list[TemperatureReading], *, idempotency_key: str | None = None
    ) -> ReadingsResult:
        """Readings of temperature, humidity or both; all kept, or none (422)."""
        return await self._transport.call(
            "POST",
            "/sensors/readings",
            ReadingsResult,
            json=TemperatureReadings(readings=readings),
            idempotency_key=idempotency_key,
        )

    async def of_order(self, order_id: int) -> OrderSensors:
        """The newest temperature and humidity speaking for the order, and its goods' bands."""
        return await self._transport.call("GET", f"/orders/{order_id}/sensors", OrderSensors)
