"""A rider's shift: wait for orders, ride to the warehouse, pick up what is packed, deliver
nearest first, meet trouble on the road at the plan's rates, and ride back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from backend.sim import conditions, customers
from backend.sim.city import LatLng
from backend.sim.demand import Doorstep
from backend.sim.movement import Leg, route
from backend.sim.world import RiderAgent, Story
from backend_client import NotFound
from backend_client.geo import flat_metres
from backend_client.models import OrderAction, OrderState, RequestKind

if TYPE_CHECKING:
    from backend.sim.runner import Simulator

A = OrderAction
S = OrderState
# How long a rider waits at the counter for the rest of their orders once one is packed.
COUNTER_WAIT_S = 8 * 60
# Per trip (multiplied by `trouble`): the rider stops for a long while, or the phone goes quiet.
STANDS_STILL = 0.02
GOES_SILENT = 0.02
# The longest a rider waits for the desk after an accident before riding on anyway.
ACCIDENT_WAIT_S = 40 * 60


async def rider_shift(sim: Simulator, agent: RiderAgent) -> None:
    """Deliver whatever this rider is given, for as long as the simulation runs."""
    while True:
        if not agent.queue:
            agent.wake.clear()
            await agent.wake.wait()
            continue
        on_the_road = [s for s in agent.queue.values() if s.left_on_road]
        if on_the_road:
            await _take_over(sim, agent, min(on_the_road, key=lambda s: s.promised_at))
            continue
        first = min(agent.queue.values(), key=lambda s: s.promised_at)
        pickup = sim.warehouses[first.warehouse_id]
        await travel(sim, agent, pickup)
        carried = await _collect(sim, agent, first.warehouse_id)
        returns = await _deliver(sim, agent, pickup, carried)
        for story in returns:
            await travel(sim, agent, sim.warehouses[story.warehouse_id])
            story.back_at_warehouse.set()
        if not agent.queue:
            await travel(sim, agent, agent.home)


async def _take_over(sim: Simulator, agent: RiderAgent, story: Story) -> None:
    """An order another rider left on the road (an accident) is ours now: once the desk lets
    it go on, ride to where its goods wait (the rider's route says where), then deliver it."""
    agent.queue.pop(story.order_id, None)
    waited = 0.0
    while story.status == S.EXCEPTION and story.rider_id == agent.id:
        if waited >= ACCIDENT_WAIT_S:
            return  # the desk never resumed it: not ours to move
        agent.wake.clear()
        await sim.wait_for(agent.wake, seconds=30)
        waited += 30
    if story.status != S.DELIVERING or story.rider_id != agent.id:
        return
    route = await agent.actor.call(lambda c: c.riders.route(agent.id))
    stop = next((s for s in route.stops if s.order_id == story.order_id), None)
    if stop is not None and stop.pickup_lat is not None and stop.pickup_lng is not None:
        await travel(sim, agent, (stop.pickup_lat, stop.pickup_lng))
    here = agent.position(sim.clock.now())
    for returned in await _deliver(sim, agent, here, [story]):
        await travel(sim, agent, sim.warehouses[returned.warehouse_id])
        returned.back_at_warehouse.set()


async def travel(
    sim: Simulator,
    agent: RiderAgent,
    to: LatLng,
    *,
    stop_for: float = 0.0,
    zone: str | None = None,
) -> None:
    """Ride from where the rider is to `to` (in `zone`, whose traffic slows the ride: see
    `conditions`); with `stop_for`, stand still that many seconds half way (a long stop that
    the alert rules should notice)."""
    now = sim.clock.now()
    here = agent.position(now)
    points = route(here, to, agent.rng)
    kmh = conditions.riding_kmh(sim.config.seed, agent.speed_kmh, zone, now)
    if stop_for:
        half = len(points) // 2
        first = Leg.ride(points[: half + 1], now, kmh)
        agent.leg = first
        await sim.sleep_until(first.arrive)
        until = first.arrive + timedelta(seconds=stop_for)
        agent.leg = Leg.stay(points[half], first.arrive, until)
        await sim.sleep_until(until)
        points, now = points[half:], sim.clock.now()
    agent.leg = Leg.ride(points, now, kmh)
    await sim.sleep_until(agent.leg.arrive)
    agent.leg = Leg.stay(to, agent.leg.arrive, datetime.max.replace(tzinfo=now.tzinfo))


async def _collect(sim: Simulator, agent: RiderAgent, warehouse_id: str) -> list[Story]:
    """At the counter: wait for the goods of every order given here (not forever), take them."""
    first_packed: datetime | None = None
    while True:
        here = [s for s in agent.queue.values() if s.warehouse_id == warehouse_id]
        packed = [s for s in here if s.packed.is_set() or s.status == S.DELIVERING]
        now = sim.clock.now()
        if packed and first_packed is None:
            first_packed = now
        waited_enough = first_packed and (now - first_packed).total_seconds() >= COUNTER_WAIT_S
        if not here or (packed and (len(packed) == len(here) or waited_enough)):
            break
        agent.wake.clear()
        await sim.wait_for(agent.wake, seconds=30)
    carried = []
    for story in packed:
        agent.queue.pop(story.order_id, None)
        out = story.status == S.DELIVERING
        out = out or await sim.act(story, agent.actor, A.DISPATCH)
        if out or await _went_out_with_its_parcel(agent, story):
            carried.append(story)
    return carried


async def _went_out_with_its_parcel(agent: RiderAgent, story: Story) -> bool:
    """A merged order goes out with the first order of its parcel: dispatching it again is
    refused, and the rider carries it all the same."""
    try:
        order = await agent.actor.call(lambda c: c.orders.get(story.order_id))
    except NotFound:
        return False  # given to another rider meanwhile
    story.absorb(order)
    return order.status == S.DELIVERING and order.rider_id == agent.id


async def _deliver(
    sim: Simulator, agent: RiderAgent, start: LatLng, carried: list[Story]
) -> list[Story]:
    """Deliver nearest first; returns the refused orders, whose goods go back."""
    trouble = sim.config.trouble
    stop_for = agent.rng.uniform(11, 15) * 60 if agent.rng.random() < STANDS_STILL * trouble else 0
    if agent.rng.random() < GOES_SILENT * trouble:
        agent.silent_until = sim.clock.now() + timedelta(minutes=agent.rng.uniform(6, 12))
    returns, here = [], start
    while carried:
        # Nearest first on the flat map: exact enough to order a rider's stops, and cheap.
        story = min(carried, key=lambda s: flat_metres(here, s.drop_off))
        carried.remove(story)
        if story.status != S.DELIVERING or story.rider_id != agent.id:
            continue  # cancelled or given to someone else meanwhile
        if story.plan.fate.accident and not story.had_accident:
            await _accident(sim, agent, story)
            if story.status != S.DELIVERING or story.rider_id != agent.id:
                continue  # the desk gave it to another rider, or settled it otherwise
        await travel(sim, agent, story.drop_off, stop_for=stop_for, zone=story.plan.zone)
        stop_for, here = 0, story.drop_off
        # From the address to the door: the lift, the guard, the stairs.
        key = story.plan.external_id
        await sim.sleep(conditions.doorstep_seconds(sim.config.seed, key, story.plan.zone))
        match story.plan.fate.doorstep:
            case Doorstep.SIGNED:
                if story.customer_follows:
                    await customers.ask_and_wait(sim, story, agent.actor)
                if not story.customer_signed.is_set():  # signed on their page: proof enough
                    await sim.prove(story, agent.actor)
                await sim.act(story, agent.actor, A.SIGN)
            case Doorstep.REFUSED:
                reason = "customer refused the delivery"
                if await sim.open_request(story, agent.actor, RequestKind.RETURN, reason):
                    returns.append(story)
            case Doorstep.DAMAGED:
                reason = "goods damaged: the box was crushed"
                await sim.open_request(story, agent.actor, RequestKind.CLAIM, reason)
        story.reports.put_nowait(story.plan.fate.doorstep)
    return returns


async def _accident(sim: Simulator, agent: RiderAgent, story: Story) -> None:
    """Half way there, a traffic accident: report it and wait for the desk to say go on."""
    story.had_accident = True
    here = agent.position(sim.clock.now())
    middle = ((here[0] + story.drop_off[0]) / 2, (here[1] + story.drop_off[1]) / 2)
    await travel(sim, agent, middle)
    reason = "traffic accident: scooter hit at a crossing, rider unhurt"
    if not await sim.act(story, agent.actor, A.REPORT_EXCEPTION, reason):
        return
    story.reports.put_nowait("accident")
    await sim.wait_for(story.resumed, seconds=ACCIDENT_WAIT_S)
