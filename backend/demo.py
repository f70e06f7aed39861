"""Seeding the demo: the simulator's city (warehouses, zones and their streets, catalogue,
stock, riders) and its accounts, written into the database the backend serves them from.

The one place outside `backend/sim/` that reads the simulator's data, and only when the `demo`
setting is on. Idempotent: what exists is left alone, so `freshline serve --demo` can restart
on the same database. Every demo account's password is `demo-<username>`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import UserRow
from backend.auth.passwords import Passwords
from backend.db import Database, lock_key
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.riders.models import RiderRow, StreetRow, ZoneRow
from backend.sim.accounts import demo_accounts
from backend.sim.city import demo_city
from backend.staffing.demo import seed_rosters

log = logging.getLogger(__name__)

DEMO_SEED_LOCK = 0x46524C05


async def seed_demo(db: Database, passwords: Passwords, *, now: datetime) -> None:
    """Create whatever of the demo city and accounts is missing."""
    city = demo_city()

    async def seed(session: AsyncSession) -> None:
        # Instances started together on one PostgreSQL seed one after the other.
        await lock_key(session, DEMO_SEED_LOCK, "demo")
        if await session.scalar(select(WarehouseRow.id).limit(1)) is None:
            session.add_all(WarehouseRow(**w) for w in city["warehouses"])
            session.add_all(SkuRow(**s) for s in city["skus"])
            await session.flush()
            levels = city["stock_per_sku"]
            session.add_all(
                StockRow(
                    warehouse_id=w["id"],
                    sku=s["sku"],
                    on_hand=levels["cold_chain" if s["cold_chain"] else "default"],
                    reserved=0,
                )
                for w in city["warehouses"]
                for s in city["skus"]
            )
            session.add_all(
                RiderRow(**r, status="offline", active_orders=0) for r in city["riders"]
            )
            await session.flush()
            log.info("seeded the demo city %s", city["name"])
        # Apart from the warehouses: a demo database kept from before zones were tables has
        # its warehouses already.
        if await session.scalar(select(ZoneRow.name).limit(1)) is None:
            known = set((await session.scalars(select(WarehouseRow.id))).all())
            zones = [z for z in city["zones"] if z["warehouse_id"] in known]
            session.add_all(
                ZoneRow(name=z["name"], warehouse_id=z["warehouse_id"], polygon=z["polygon"])
                for z in zones
            )
            await session.flush()
            session.add_all(
                StreetRow(zone=z["name"], position=position, name=street)
                for z in zones
                for position, street in enumerate(z["streets"])
            )
            await session.flush()
            log.info("seeded %d demo zones and their streets", len(zones))
        rider_ids = list((await session.scalars(select(RiderRow.id).order_by(RiderRow.id))).all())
        existing = set((await session.scalars(select(UserRow.username))).all())
        missing = [a for a in demo_accounts(rider_ids) if a.username not in existing]
        for account in missing:
            session.add(
                UserRow(
                    username=account.username,
                    password_hash=await passwords.hash_async(account.password),
                    role=account.role,
                    warehouse_id=account.warehouse_id,
                    rider_id=account.rider_id,
                    channel=account.channel,
                    created_at=now,
                )
            )
        if missing:
            log.info("created %d demo accounts", len(missing))
        await seed_rosters(session, now)

    await db.write(seed)
