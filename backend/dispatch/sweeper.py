"""The periodic auto-dispatch sweep: picking orders that found no rider are offered again."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import system_principal
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.dispatch.ranking import Ranking
from backend.inventory.models import WarehouseRow
from backend.orders import service as orders
from backend.orders.models import OrderRow
from backend_client.models import OrderState

log = logging.getLogger(__name__)

# Orders looked at per sweep, most urgent first; the rest wait for the next one.
BATCH = 500


class AutoDispatcher(BackgroundLoop):
    """Assigns riders to waiting orders of auto-dispatch warehouses, every `period` seconds."""

    name = "auto-dispatch"

    def __init__(
        self, db: Database, clock: Clock, *, period: float, ranking: Ranking = Ranking.INSERTION
    ) -> None:
        super().__init__()
        self.db, self.clock, self.period, self.ranking = db, clock, period, ranking

    async def sweep(self) -> int:
        """One pass over the waiting orders; returns how many got a rider."""
        async with self.db.read() as session:
            waiting = (
                await session.execute(
                    select(OrderRow.id, OrderRow.warehouse_id, OrderRow.cold_chain)
                    .join(WarehouseRow, WarehouseRow.id == OrderRow.warehouse_id)
                    .where(
                        OrderRow.status == OrderState.PICKING,
                        OrderRow.rider_id.is_(None),
                        WarehouseRow.auto_dispatch.is_(True),
                    )
                    .order_by(OrderRow.promised_at, OrderRow.id)
                    .limit(BATCH)
                )
            ).all()
        assigned = 0
        # Once nobody in reach of a warehouse can take an ordinary order, nobody can take a
        # cold-chain one there either; other warehouses have other riders in reach.
        hopeless: set[tuple[str, bool]] = set()
        for order_id, warehouse_id, cold_chain in waiting:
            if (warehouse_id, cold_chain) in hopeless:
                continue
            if await self._offer(order_id):
                assigned += 1
            else:
                hopeless.update({(warehouse_id, True), (warehouse_id, cold_chain)})
        return assigned

    async def _offer(self, order_id: int) -> bool:
        now = self.clock.now()

        async def offer(session: AsyncSession) -> bool:
            order = await orders.load_order(session, order_id, system_principal(), for_update=True)
            return await orders.auto_assign(session, order, now=now, ranking=self.ranking)

        return await self.db.write(offer)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                if assigned := await self.sweep():
                    log.info("auto-dispatch gave %d waiting order(s) a rider", assigned)
            except Exception:  # an outage must not end the sweeping; the next pass retries
                log.exception("auto-dispatch sweep failed")
