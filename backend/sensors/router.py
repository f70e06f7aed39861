"""Routes: sensor readings (temperature, humidity) in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.requests import HTTPConnection

from backend.auth.deps import CanReportSensors
from backend.deps import ClockDep, DbDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.sensors import service
from backend_client.models import ReadingsResult, TemperatureReadings

router = APIRouter(tags=["sensors"], responses=PROTECTED)


async def wake_alerts(connection: HTTPConnection) -> Callable[[], None]:
    """Asks the alert engine to look again now rather than at its next tick."""
    return connection.app.state.runtime.alerts.wake


WakeAlerts = Annotated[Callable[[], None], Depends(wake_alerts)]


@router.post(
    "/sensors/readings",
    response_model=ReadingsResult,
    responses={**TOO_LARGE, **errors({422: "A reading is impossible or out of your scope."})},
    openapi_extra=IDEMPOTENT,
)
async def upload_readings(
    body: TemperatureReadings,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    wake: WakeAlerts,
    principal: CanReportSensors,
):
    """Readings of temperature, relative humidity or both from order boxes (by order) and
    vehicles (by rider); the cold-chain and humidity rules read the newest of each."""
    now = clock.now()

    async def act(session):
        accepted = await service.record_readings(session, body, actor=principal, now=now)
        return 200, ReadingsResult(accepted=accepted)

    response = await run_once(request, db, principal, now, act)
    wake()  # readings are not events: tell the rules now, not at the next tick
    return response
