"""The stores' restocking: each round a store reads its restock suggestions, accepts those
that ask for goods, and receives what it accepted once the plan's lead time has passed (the
supplier's truck). While the plan has less than a day of demand to stand on (a fresh run),
the store tops up what runs low to its usual level instead, as a store opening with no sales
history orders by rule of thumb.

Stateless between rounds: what is on order is read back from the plan (each suggestion's open
decision), so a restarted simulator receives the goods its previous run ordered.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from backend.sim.accounts import Actor
from backend.sim.city import demo_city
from backend_client import Conflict, FreshlineClient
from backend_client.models import StockLevel

log = logging.getLogger(__name__)

TOP_UP_BELOW = 0.4
"""Without a plan to go by, a SKU below this share of its usual level is topped up to it."""
HISTORY_NEEDED_HOURS = 24
"""A plan resting on fewer hours of demand than this is not acted on (`TOP_UP_BELOW` is)."""


async def restock_round(merchant: Actor, warehouse_id: str, now: datetime) -> Counter[str]:
    """One round for one store; counts what it did (`accepted`, `received`, `topped_up`,
    `stale`)."""
    done: Counter[str] = Counter()
    plan = await merchant.call(lambda c, w: c.warehouses.restock(w), warehouse_id)
    lead = timedelta(hours=plan.lead_hours)
    for suggestion in plan.suggestions:
        decision = suggestion.decision
        if decision is not None and decision.decided_at + lead <= now:
            await merchant.call(
                lambda c, w, d: c.warehouses.receive_restock(w, d), warehouse_id, decision.id
            )
            done["received"] += 1
    if plan.history_hours < HISTORY_NEEDED_HOURS:
        done["topped_up"] += await _top_up(merchant, warehouse_id)
        return done
    for suggestion in plan.suggestions:
        if suggestion.suggested <= 0 or suggestion.decision is not None:
            continue  # nothing needed, or an order already on its way
        try:
            await merchant.call(
                lambda c, w, s: c.warehouses.decide_restock(
                    w, s.sku, version=s.version, suggested=s.suggested
                ),
                warehouse_id,
                suggestion,
            )
        except Conflict as exc:  # a colleague decided meanwhile: theirs stands
            log.info("%s %s: suggestion changed (%s)", warehouse_id, suggestion.sku, exc)
            done["stale"] += 1
        else:
            done["accepted"] += 1
    return done


async def _top_up(merchant: Actor, warehouse_id: str) -> int:
    usual = demo_city()["stock_per_sku"]
    topped = 0
    for level in await merchant.call(lambda c, w: c.warehouses.stock(w), warehouse_id):
        target = usual["cold_chain" if level.cold_chain else "default"]
        if level.available < target * TOP_UP_BELOW:
            await merchant.call(_deliver, level, target)
            topped += 1
    return topped


async def _deliver(client: FreshlineClient, level: StockLevel, target: int) -> None:
    await client.warehouses.adjust_stock(
        level.warehouse_id, level.sku, target - level.available, "scheduled delivery"
    )
