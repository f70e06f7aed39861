"""Customers who complain after a delivery, and support answering them, through the public API
only: a trickle on time, many more when the order came late (the later, the likelier), so the
complaint KPI moves with service quality. Half of them reach us as a refund asked for on the
customer's platform (its reason a complaint: the channel gateway opens it), half by a call to
support (`POST /orders/{id}/complaints`). Support resolves each a while later: an apology for
the rider's manners, a voucher for lateness, the first item refunded for bad goods."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from backend.sim.world import Story
from backend_client import ApiError, ConnectionFailed
from backend_client.models import ComplaintCategory, ComplaintOutcome, RequestKind, RequestState

if TYPE_CHECKING:
    from backend.sim.runner import Simulator

log = logging.getLogger(__name__)

C = ComplaintCategory
ON_TIME_CHANCE = 0.02
"""A complaint about an order that came on time (the goods, the rider)."""
LATE_CHANCE = 0.12
LATE_CHANCE_PER_MINUTE = 0.01
LATE_CHANCE_MAX = 0.40
ON_TIME_CATEGORIES = (C.QUALITY, C.WRONG_ITEM, C.RIDER_CONDUCT, C.DAMAGED)
ON_TIME_WEIGHTS = (5.0, 3.0, 2.0, 1.0)
LATE_SHARE = 0.8
"""Of complaints about a late order, those about the lateness itself."""
VOUCHER_CENTS = 500

PLATFORM_WORDS: dict[ComplaintCategory, str] = {
    C.LATE: "delivery was late",
    C.QUALITY: "商品不新鲜",
    C.WRONG_ITEM: "wrong item in the bag",
    C.RIDER_CONDUCT: "rider was rude at the door",
    C.DAMAGED: "box crushed, goods damaged",
}
"""What a customer writes as the refund's reason on the platform (the gateway tells the
category from it: backend/returns/reasons.py)."""


def complaint_chance(minutes_late: float) -> float:
    """How likely a delivered order draws a complaint, by how late it came."""
    if minutes_late <= 0:
        return ON_TIME_CHANCE
    return min(LATE_CHANCE_MAX, LATE_CHANCE + LATE_CHANCE_PER_MINUTE * minutes_late)


def category_for(minutes_late: float, rng: random.Random) -> ComplaintCategory:
    if minutes_late > 0 and rng.random() < LATE_SHARE:
        return C.LATE
    return rng.choices(ON_TIME_CATEGORIES, weights=ON_TIME_WEIGHTS)[0]


async def after_delivery(sim: Simulator, story: Story, rng: random.Random) -> None:
    """Maybe a complaint about the signed order, and later its resolution."""
    minutes_late = (sim.clock.now() - story.promised_at).total_seconds() / 60
    if rng.random() >= complaint_chance(minutes_late):
        return
    category = category_for(minutes_late, rng)
    await sim.sleep(rng.uniform(300, 1800))  # the customer unpacks, then complains
    _sku, price = story.first_line
    asked = price if category != C.RIDER_CONDUCT else 0
    try:
        if rng.random() < 0.5:
            result = await sim.platforms.tell(
                story.plan, "refund", sim.clock.now(), PLATFORM_WORDS[category], asked
            )
            if "complaint" not in result.detail:
                log.info("order %s: refund kept, no complaint: %s", story.order_id, result.detail)
                return
        else:
            reason = f"customer called: {PLATFORM_WORDS[category]}"
            await sim.cast["support"].call(
                lambda c: c.orders.open_complaint(
                    story.order_id, category, reason, amount_cents=asked
                )
            )
    except (ApiError, ConnectionFailed) as exc:
        log.info("order %s: complaint not opened: %s", story.order_id, exc)
        sim.stats.refused += 1
        return
    sim.stats.actions["complain"] += 1
    await sim.sleep(rng.uniform(300, 1200))
    await _resolve(sim, story, category, price)


async def _resolve(sim: Simulator, story: Story, category: ComplaintCategory, price: int) -> None:
    support = sim.cast["support"]
    try:
        waiting = await support.call(
            lambda c: c.requests.all(
                kind=RequestKind.COMPLAINT, state=RequestState.PENDING, order_id=story.order_id
            )
        )
        for complaint in waiting:  # someone at a console may have answered it already
            outcome, cents = _answer(category, price)
            await support.call(
                lambda c, request_id, version, outcome, cents: c.requests.resolve(
                    request_id, version, outcome, amount_cents=cents, note="sorry"
                ),
                complaint.id,
                complaint.version,
                outcome,
                cents,
            )
            sim.stats.actions[f"resolve_{outcome}"] += 1
    except (ApiError, ConnectionFailed) as exc:
        log.info("order %s: complaint not resolved: %s", story.order_id, exc)
        sim.stats.refused += 1


def _answer(category: ComplaintCategory, price: int) -> tuple[ComplaintOutcome, int]:
    if category == C.RIDER_CONDUCT or price <= 0:
        return ComplaintOutcome.APOLOGY, 0
    if category == C.LATE:
        return ComplaintOutcome.VOUCHER, VOUCHER_CENTS
    return ComplaintOutcome.REFUND, min(price, 20_000)
