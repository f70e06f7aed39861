"""Seeding the demo: the city (warehouses, catalogue, stock, riders) and its accounts.

Idempotent: what exists is left alone, so `freshline serve --demo` can restart on the same
database. Every demo account's password is `demo-<username>`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import UserRow
from backend.auth.passwords import Passwords
from backend.db import Database, lock_key
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.riders.models import RiderRow
from backend.sim.city import demo_city
from backend_client.models import Channel, Role

log = logging.getLogger(__name__)

DEMO_SEED_LOCK = 0x46524C05
DESK_ACCOUNTS = (Role.DISPATCHER, Role.SUPERVISOR, Role.SUPPORT, Role.ADMIN, Role.VIEWER)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    warehouse_id: str | None = None
    rider_id: int | None = None
    channel: str | None = None

    @property
    def password(self) -> str:
        return demo_password(self.username)


def demo_password(username: str) -> str:
    return f"demo-{username}"


def demo_accounts(rider_ids: list[int]) -> list[DemoAccount]:
    """Desk staff, one merchant per warehouse, one account per rider and per channel."""
    city = demo_city()
    accounts = [DemoAccount(str(role), role) for role in DESK_ACCOUNTS]
    accounts += [
        DemoAccount(f"merchant-{w['id'].lower()}", Role.MERCHANT, warehouse_id=w["id"])
        for w in city["warehouses"]
    ]
    accounts += [DemoAccount(f"rider-{rid}", Role.RIDER, rider_id=rid) for rid in rider_ids]
    accounts += [
        DemoAccount(f"channel-{c.value.replace('_', '-')}", Role.CHANNEL, channel=c.value)
        for c in Channel
    ]
    return accounts


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

    await db.write(seed)
