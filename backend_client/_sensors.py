"""`client.sensors`: cold-chain temperature readings."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import ReadingsResult, TemperatureReading, TemperatureReadings


class Sensors(Resource):
    """Cold-chain sensors in order boxes and rider vehicles."""

    async def send(
        self, readings: list[TemperatureReading], *, idempotency_key: str | None = None
    ) -> ReadingsResult:
        return await self._transport.call(
            "POST",
            "/sensors/readings",
            ReadingsResult,
            json=TemperatureReadings(readings=readings),
            idempotency_key=idempotency_key,
        )
