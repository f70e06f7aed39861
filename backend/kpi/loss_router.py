"""Route: a warehouse's loss rate by SKU over a window (`losses.py`); gated by `returns:read`,
not `kpi:read`: a merchant reads their own warehouse's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.deps import CanReadReturns
from backend.auth.scope import warehouse_in_scope
from backend.deps import ClockDep, DbDep
from backend.errors import NotFound
from backend.inventory.models import WarehouseRow
from backend.inventory.router import NOT_FOUND, WarehouseId
from backend.kpi.losses import losses, window_of
from backend.responses import PROTECTED, errors
from backend_client.models import Moment, WarehouseLosses

router = APIRouter(tags=["warehouses"], responses=PROTECTED)

Start = Annotated[Moment | None, Query(description="Window start; default: `end` minus 7 days.")]
End = Annotated[Moment | None, Query(description="Window end (exclusive); default: now.")]


@router.get(
    "/warehouses/{warehouse_id}/losses",
    response_model=WarehouseLosses,
    responses={
        **NOT_FOUND,
        **errors({422: "An empty or backward window, or one longer than 92 days."}),
    },
)
async def get_losses(
    warehouse_id: WarehouseId,
    db: DbDep,
    clock: ClockDep,
    principal: CanReadReturns,
    start: Start = None,
    end: End = None,
) -> WarehouseLosses:
    """Units sold, claimed, written off and returned per SKU in the window, and the loss rate
    (claimed + written off, over sold). Merchants: their own warehouse only."""
    window_start, window_end = window_of(start, end, now=clock.now())
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    async with db.read() as session:
        if await session.get(WarehouseRow, warehouse_id) is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        return await losses(session, warehouse_id, window_start, window_end)
