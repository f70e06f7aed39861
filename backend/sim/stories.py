"""An order's story from the side of the channel, the store and the desk: placed, paid (or
not), picked (or short), and, when the rider reports trouble, resumed, returned or claimed."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING

from backend.sim import complaints, conditions, customers
from backend.sim.accounts import merchant_account
from backend.sim.demand import Doorstep, OrderPlan
from backend.sim.world import Story
from backend_client import Conflict
from backend_client.models import OrderAction, OrderState

if TYPE_CHECKING:
    from backend.sim.runner import Simulator

log = logging.getLogger(__name__)
A = OrderAction
S = OrderState
# A plan's promise closer than this when the order goes out means the simulator fell behind.
MIN_PROMISE_LEAD = timedelta(minutes=5)
# Unpaid orders are cancelled by the channel after this long (the payment window).
PAYMENT_WINDOW_S = 30 * 60
# A customer told their item is out of stock cancels with this probability.
CANCELS_WHEN_SHORT = 0.3


async def order_story(sim: Simulator, plan: OrderPlan) -> None:
    """Place one order and see it through the channel's, the store's and the desk's part."""
    promised_at = plan.at + timedelta(minutes=plan.promise_minutes)
    now = sim.clock.now()
    if promised_at - now < MIN_PROMISE_LEAD:
        # Behind the plan (a busy machine at a high speed): the customer orders now, so the
        # platform's promise counts from now, as it would for a real late order.
        log.info("%s placed %s behind its plan", plan.external_id, now - plan.at)
        promised_at = now + timedelta(minutes=plan.promise_minutes)
    try:
        # The platform's own payload, signed: the order arrives unpaid and its payment calls
        # back, as the plan's fate has it.
        receipt = await sim.platforms.place(plan, promised_at)
    except Conflict:
        return  # an order of that id, placed otherwise
    if receipt.replayed:
        return  # placed by an earlier run with the same seed and start
    order = receipt.order
    story = Story(
        plan=plan,
        first_line=(order.items[0].sku, order.items[0].unit_price_cents),
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        drop_off=(order.lat, order.lng),
        promised_at=order.promised_at,
        version=order.version,
        status=order.status,
        delivery_pin=receipt.delivery_pin,
    )
    sim.stories[order.id] = story
    sim.stats.orders += 1
    rng = random.Random(f"{sim.config.seed}:story:{plan.index}")
    # The customer's own draws: the order's story plays out as it did before customers did.
    customer = random.Random(f"{sim.config.seed}:customer:{plan.index}")
    token = customers.token_of(order.tracking_url)
    if token is not None and customer.random() < customers.OPENS_LINK:
        story.tracking_token = token
        story.customer_follows = customer.random() < customers.FOLLOWS
        sim._spawn(customers.customer_story(sim, story, customer), f"customer-{order.id}")
    fate = plan.fate

    if not fate.pays:
        await sim.sleep(PAYMENT_WINDOW_S)
        if story.status == S.CREATED:
            await sim.platform_says(story, "cancelled", "payment not received within 30 minutes")
        return
    await sim.sleep(fate.pay_after_s)
    await sim.platform_says(story, "paid")
    if story.status == S.OUT_OF_STOCK and not await _recover_stock(sim, story, rng):
        return
    merchant = sim.cast[merchant_account(story.warehouse_id)]
    await sim.sleep(fate.picking_starts_after_s)
    if story.status != S.PAID or not await sim.act(story, merchant, A.START_PICKING):
        return
    sim.hand_over(story)
    if fate.short_while_picking:
        await sim.sleep(rng.uniform(60, 180))
        sku = plan.items[0][0]
        reason = f"{sku}: the last units failed the freshness check"
        if not await sim.act(story, merchant, A.REPORT_OUT_OF_STOCK, reason):
            return
        if not await _recover_stock(sim, story, rng):
            return
    await sim.sleep(fate.picking_minutes * 60 * conditions.pick_factor(story.warehouse_id))
    story.packed.set()
    if sim.config.desk:
        await _desk(sim, story, rng)


async def _recover_stock(sim: Simulator, story: Story, rng: random.Random) -> bool:
    """Out of stock: the store gets goods in and picks again, or the customer cancels."""
    if rng.random() < CANCELS_WHEN_SHORT:
        await sim.sleep(rng.uniform(120, 600))
        await sim.platform_says(story, "cancelled", "customer cancelled: an item was out of stock")
        return False
    await sim.sleep(rng.uniform(300, 900))  # the supplier's van
    merchant = sim.cast[merchant_account(story.warehouse_id)]
    levels = {
        s.sku: s
        for s in await merchant.call(lambda client: client.warehouses.stock(story.warehouse_id))
    }
    for sku, quantity in story.plan.items:
        if levels[sku].available < quantity:
            delta = max(20, quantity - levels[sku].available)
            await merchant.call(
                lambda client, sku, delta: client.warehouses.adjust_stock(
                    story.warehouse_id, sku, delta, "express delivery from the supplier"
                ),
                sku,
                delta,
            )
    if story.status != S.OUT_OF_STOCK:
        return False  # someone at a console settled it meanwhile
    return await sim.act(story, merchant, A.RESTOCK)


async def _desk(sim: Simulator, story: Story, rng: random.Random) -> None:
    """Support and dispatch answering what the rider reports, until the story ends."""
    while True:
        report = await story.reports.get()
        match report:
            case Doorstep.SIGNED | "closed":
                # The rider's word or the stream's, whichever comes first: once either way.
                if story.status == S.SIGNED:
                    await complaints.after_delivery(sim, story, rng)
                return
            case "accident":
                await sim.sleep(rng.uniform(300, 600))
                if await sim.act(
                    story, sim.cast["dispatcher"], A.RESUME, "rider unhurt, carrying on"
                ):
                    story.resumed.set()
            case Doorstep.REFUSED:
                await sim.sleep(rng.uniform(120, 300))
                support = sim.cast["support"]
                if not await sim.decide(story, support, approve=True, reason="refusal confirmed"):
                    return
                await story.back_at_warehouse.wait()
                merchant = sim.cast[merchant_account(story.warehouse_id)]
                await sim.act(story, merchant, A.COMPLETE_RETURN)
                return
            case Doorstep.DAMAGED:
                await sim.sleep(rng.uniform(180, 480))
                # Support approves what its limit allows; bigger claims go to a supervisor.
                amount = story.request.amount_cents if story.request else 0
                limit = (await sim.cast["support"].me()).claim_limit_cents
                within_limit = limit is None or amount <= limit
                desk = sim.cast["support" if within_limit else "supervisor"]
                if not await sim.decide(story, desk, approve=True, reason="photo checked"):
                    return
                await sim.sleep(rng.uniform(600, 1800))
                await sim.act(story, desk, A.SETTLE_CLAIM)
                return
