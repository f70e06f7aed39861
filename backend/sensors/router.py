"""Routes: cold-chain temperature readings in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from backend.auth.deps import RuntimeDep, require
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.sensors import service
from backend_client.models import ReadingsResult, TemperatureReadings

router = APIRouter(tags=["sensors"], responses=PROTECTED)


@router.post(
    "/sensors/readings",
    response_model=ReadingsResult,
    responses={**TOO_LARGE, **errors({422: "A reading is impossible or out of your scope."})},
    openapi_extra=IDEMPOTENT,
)
async def upload_readings(
    body: TemperatureReadings,
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(Permission.SENSORS_REPORT))],
):
    """Temperature readings from cold-chain boxes (by order) and vehicles (by rider); the
    cold-chain rule reads the newest of each."""
    now = runtime.clock.now()

    async def act(session):
        accepted = await service.record_readings(session, body, actor=principal, now=now)
        return 200, ReadingsResult(accepted=accepted)

    response = await run_once(request, runtime.db, principal, now, act)
    runtime.alerts.wake()  # readings are not events: tell the rules now, not at the next tick
    return response
