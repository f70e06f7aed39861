"""The map the backend serves and places addresses on: delivery zones with their polygons and
streets, as the database keeps them (the demo seeds its city's; a deployment loads its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.riders.models import StreetRow, ZoneRow
from backend_client.models import Zone


async def delivery_zones(session: AsyncSession) -> list[Zone]:
    """Every zone with its polygon, by name."""
    rows = await session.scalars(select(ZoneRow).order_by(ZoneRow.name))
    return [
        Zone(
            name=z.name, warehouse_id=z.warehouse_id, polygon=[(lat, lng) for lat, lng in z.polygon]
        )
        for z in rows
    ]


async def city_map(session: AsyncSession) -> dict[str, Any]:
    """What the offline geocoder places addresses by, in the shape of a city's data: each
    warehouse's address and point, each zone's polygon and its streets in their order."""
    warehouses = (await session.scalars(select(WarehouseRow).order_by(WarehouseRow.id))).all()
    zones = (await session.scalars(select(ZoneRow).order_by(ZoneRow.name))).all()
    streets: dict[str, list[str]] = {}
    for street in await session.scalars(
        select(StreetRow).order_by(StreetRow.zone, StreetRow.position)
    ):
        streets.setdefault(street.zone, []).append(street.name)
    return {
        "warehouses": [
            {"id": w.id, "address": w.address, "lat": w.lat, "lng": w.lng} for w in warehouses
        ],
        "zones": [
            {
                "name": z.name,
                "warehouse_id": z.warehouse_id,
                "polygon": z.polygon,
                "streets": streets.get(z.name, []),
            }
            for z in zones
        ],
    }
