"""Routes: warehouses and their stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanAdjustStock, CanReadStock, CanReadWarehouses
from backend.auth.scope import warehouse_in_scope
from backend.deps import ClockDep, DbDep
from backend.errors import NotFound
from backend.idempotency import IDEMPOTENT, run_once
from backend.inventory import service
from backend.inventory.models import WarehouseRow
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend_client.models import StockAdjust, StockLevel, Warehouse

router = APIRouter(tags=["warehouses"], responses=PROTECTED)
NOT_FOUND = errors({404: "No such warehouse (or SKU) in your scope."})

WarehouseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


def warehouse_view(row: WarehouseRow) -> Warehouse:
    """The warehouse as the API shows it: the row's columns by name (see `user_view`)."""
    return Warehouse.model_validate(row, from_attributes=True)


@router.get("/warehouses", response_model=list[Warehouse])
async def list_warehouses(
    db: DbDep,
    _principal: CanReadWarehouses,
) -> list[Warehouse]:
    """Every front warehouse with its zone and location."""
    async with db.read() as session:
        rows = (await session.scalars(select(WarehouseRow).order_by(WarehouseRow.id))).all()
    return [warehouse_view(r) for r in rows]


@router.get("/warehouses/{warehouse_id}", response_model=Warehouse, responses=NOT_FOUND)
async def get_warehouse(
    warehouse_id: WarehouseId,
    db: DbDep,
    _principal: CanReadWarehouses,
) -> Warehouse:
    """One front warehouse."""
    async with db.read() as session:
        row = await session.get(WarehouseRow, warehouse_id)
    if row is None:
        raise NotFound(f"no warehouse {warehouse_id}")
    return warehouse_view(row)


@router.get(
    "/warehouses/{warehouse_id}/stock", response_model=list[StockLevel], responses=NOT_FOUND
)
async def get_stock(
    warehouse_id: WarehouseId,
    db: DbDep,
    principal: CanReadStock,
) -> list[StockLevel]:
    """Stock of every SKU in a warehouse: on hand, reserved by paid orders, available."""
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    async with db.read() as session:
        if await session.get(WarehouseRow, warehouse_id) is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        return await service.stock_levels(session, warehouse_id)


@router.post(
    "/warehouses/{warehouse_id}/stock/{sku}/adjust",
    response_model=StockLevel,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **errors({409: "Would leave less on hand than paid orders have reserved."}),
    },
    openapi_extra=IDEMPOTENT,
)
async def adjust_stock(
    warehouse_id: WarehouseId,
    sku: WarehouseId,
    body: StockAdjust,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanAdjustStock,
) -> Response:
    """Restock (positive delta) or write off (negative); never below what is reserved."""
    if not warehouse_in_scope(principal, warehouse_id):
        raise NotFound(f"no warehouse {warehouse_id}")
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, BaseModel]:
        level = await service.adjust(
            session, warehouse_id, sku, body.delta, body.reason, actor=principal, now=now
        )
        return 200, level

    return await run_once(request, db, principal, now, act)
