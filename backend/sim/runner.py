"""The simulator: plays a city's channels, stores, riders and desk against a backend, through
its public API only, on the backend's own clock.

`Simulator(config).run()` signs in as the demo accounts, brings the riders online (registering
more with `riders=N`), subscribes to the order stream as the dispatch app would (assignments
reach riders that way), then places orders by the plan and lets every story play out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from backend.sim import conditions
from backend.sim.accounts import Actor, Cast
from backend.sim.city import demo_city
from backend.sim.demand import BEIJING, Demand
from backend.sim.movement import Leg
from backend.sim.platforms import Platforms
from backend.sim.rides import rider_shift
from backend.sim.sensors import report_vehicles
from backend.sim.stores import restock_round
from backend.sim.stories import order_story
from backend.sim.world import RiderAgent, Story
from backend_client import (
    Conflict,
    ConnectionFailed,
    FreshlineClient,
    FreshlineError,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ServerError,
    Stream,
    within,
)
from backend_client.demo import ScaledClock
from backend_client.models import (
    CallbackOutcome,
    ClaimItem,
    Event,
    EventMessage,
    FleetFix,
    OrderAction,
    OrderState,
    PositionPoint,
    RequestKind,
    ReturnRequest,
    Rider,
    RiderIn,
    RiderStatus,
    Topic,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

FIX_EVERY_S = 15.0
# How often (real seconds) the phones' due fixes are gathered and uploaded.
PUMP_EVERY_S = 1.0
# Fixes per fleet relay request, and phone uploads in flight at once.
RELAY_CHUNK = 2000
UPLOADS_IN_FLIGHT = 16
# A phone loses signal on this share of its fixes, for one to three minutes.
LOSES_SIGNAL = 0.01
# The stores act on their restock suggestions every REPLENISH_EVERY_S (backend/sim/stores.py).
REPLENISH_EVERY_S = 30 * 60
FINAL = frozenset(
    {OrderState.SIGNED, OrderState.RETURNED, OrderState.CLAIM_SETTLED, OrderState.CANCELLED}
)


class SimulatorError(Exception):
    """The simulator cannot run against this backend (said why)."""


@dataclass(frozen=True)
class SimConfig:
    """How to play the city; see `freshline simulate --help`."""

    server: str
    seed: int = 1
    orders_per_hour: float = 72.0
    """At the peak of the day's curve (or always, with `flat`)."""
    riders: int | None = None
    """Riders on shift; more than the demo city's are registered (as admin) first."""
    flat: bool = False
    trouble: float = 1.0
    """Multiplies every incident rate."""
    desk: bool = True
    """Also play support and dispatch answering incidents (off: people at consoles do)."""
    duration: float | None = None
    """Real seconds to run; None runs until stopped."""
    speed: float | None = None
    """The clock speed the backend must run at; None takes whatever it runs at."""


@dataclass
class Stats:
    """What the simulator did, for the status line and the load report."""

    started: float = field(default_factory=time.monotonic)
    orders: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    fixes: int = 0
    fix_requests: int = 0
    errors: int = 0
    refused: int = 0
    tracking_views: int = 0
    """Customers' looks at their tracking links."""
    tracking_sockets: int = 0
    signatures: int = 0
    """Customers who signed on their tracking page."""
    restock: Counter[str] = field(default_factory=Counter)
    """The stores' restock rounds: suggestions accepted, deliveries received, top-ups."""

    @property
    def elapsed(self) -> float:
        return max(1e-9, time.monotonic() - self.started)

    def per_second(self, count: int) -> float:
        return count / self.elapsed

    def summary(self) -> str:
        transitions = sum(self.actions.values())
        return (
            f"ran {self.elapsed:.0f} s: {self.orders} orders "
            f"({self.per_second(self.orders):.2f}/s), {transitions} transitions "
            f"({self.per_second(transitions):.1f}/s), {self.fixes} position fixes "
            f"({self.per_second(self.fixes):.0f}/s) in {self.fix_requests} uploads, "
            f"{self.refused} actions refused, {self.errors} errors, "
            f"{self.tracking_views} tracking views, {self.signatures} signed on the page"
        )


class Simulator:
    """One run of the city against one backend."""

    def __init__(
        self,
        config: SimConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_status: Callable[[str], None] | None = None,
        status_every: float = 5.0,
    ) -> None:
        self.config = config
        self.transport = transport
        self.on_status, self.status_every = on_status, status_every
        self.cast = Cast(config.server, transport=transport)
        self.platforms = Platforms(config.server, config.seed, transport=transport)
        self.stats = Stats()
        self.stories: dict[int, Story] = {}
        self.riders: dict[int, RiderAgent] = {}
        self.warehouses: dict[str, tuple[float, float]] = {}
        self.clock: ScaledClock
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stream: Stream | None = None
        self._uploads = asyncio.Semaphore(UPLOADS_IN_FLIGHT)

    # --- running --------------------------------------------------------------------------

    async def run(self) -> Stats:
        """Play until `duration` passes or `stop()` is called; returns what was done."""
        try:
            await self._sync_clock()
            await self._setup()
            self.stats = Stats()
            self._spawn(self._place_orders(), "demand")
            self._spawn(self._pump_positions(), "positions")
            self._spawn(self._replenish(), "replenish")
            self._spawn(report_vehicles(self), "vehicle-sensors")
            if self.on_status is not None:
                self._spawn(self._report(), "status")
            for agent in self.riders.values():
                self._spawn(rider_shift(self, agent), f"rider-{agent.id}")
            with contextlib.suppress(TimeoutError):
                await within(self.config.duration, self._stop.wait())
        finally:
            await self._shutdown()
        return self.stats

    def stop(self) -> None:
        self._stop.set()

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        self.stats.errors += 1
        exc = task.exception()
        if isinstance(exc, FreshlineError):
            log.warning("%s gave up: %s", task.get_name(), exc)
        else:
            log.error("%s failed", task.get_name(), exc_info=exc)

    async def _shutdown(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.cast.aclose()
        await self.platforms.aclose()

    # --- time -----------------------------------------------------------------------------

    async def _sync_clock(self) -> None:
        async with FreshlineClient(self.config.server, transport=self.transport) as client:
            health = await client.health()
        speed = self.config.speed
        if speed is not None and abs(health.clock_speed - speed) > 1e-9:
            raise SimulatorError(
                f"the backend's clock runs at {health.clock_speed:g}x, not {speed:g}x; "
                "simulated time must be the backend's time (see `freshline demo --speed`)"
            )
        self.clock = ScaledClock(health.time, speed=health.clock_speed)

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(max(0.0, simulated_seconds) / self.clock.speed)

    async def sleep_until(self, at: datetime) -> None:
        await self.sleep((at - self.clock.now()).total_seconds())

    async def wait_for(self, event: asyncio.Event, *, seconds: float) -> bool:
        """Wait for `event`, at most `seconds` of simulated time; whether it came."""
        try:
            await within(seconds / self.clock.speed, event.wait())
        except TimeoutError:
            return False
        return True

    # --- acting ---------------------------------------------------------------------------

    async def act(
        self, story: Story, actor: Actor, action: OrderAction, reason: str | None = None
    ) -> bool:
        """Take a lifecycle action on the story's order; whether it happened."""
        order = await self._on_fresh_version(
            story,
            str(action),
            lambda: actor.call(
                lambda c: c.orders.transition(story.order_id, action, story.version, reason=reason)
            ),
        )
        if order is None:
            return False
        story.absorb(order)
        self.stats.actions[str(action)] += 1
        if story.status in FINAL:
            self.stories.pop(story.order_id, None)
        return True

    async def prove(self, story: Story, actor: Actor) -> bool:
        """At the door: the customer reads out the PIN and the rider records it as the proof
        of delivery; whether it was recorded (a backend that asks for proof refuses `sign`
        without it)."""
        pin = story.delivery_pin
        if pin is None:
            return False
        try:
            await actor.call(lambda c: c.proofs.pin(story.order_id, pin))
        except (Conflict, NotFound, PermissionDenied, InvalidRequest) as exc:
            log.info("order %s: proof refused: %s", story.order_id, exc)
            return False
        self.stats.actions["prove"] += 1
        return True

    async def open_request(
        self, story: Story, actor: Actor, kind: RequestKind, reason: str
    ) -> bool:
        """Open a return or a claim (the first item, at its price) for the story's order;
        whether it was opened. The order goes to EXCEPTION with it if it was out for delivery."""
        sku, price = story.first_line
        items = [ClaimItem(sku=sku, quantity=1)]

        def opening() -> Awaitable[ReturnRequest]:
            if kind == RequestKind.CLAIM:
                return actor.call(
                    lambda c: c.orders.open_claim(
                        story.order_id, story.version, reason, items, price
                    )
                )
            return actor.call(lambda c: c.orders.open_return(story.order_id, story.version, reason))

        request = await self._on_fresh_version(story, str(kind), opening)
        if request is None:
            return False
        if story.status == OrderState.DELIVERING:
            story.status, story.version = OrderState.EXCEPTION, story.version + 1
        story.request = request
        self.stats.actions[f"open_{kind}"] += 1
        return True

    async def _on_fresh_version(
        self, story: Story, what: str, call: Callable[[], Awaitable[T]]
    ) -> T | None:
        """`call()` with the story's order version; a stale version is refreshed and tried
        again, an order someone else moved on (or took away) is left alone: None."""
        for _ in range(3):
            try:
                return await call()
            except Conflict as exc:
                current = exc.current_version
                if current is not None and current != story.version:
                    story.version = current
                    continue
                log.info("order %s: %s refused: %s", story.order_id, what, exc.detail)
            except (NotFound, PermissionDenied) as exc:
                log.info("order %s: %s not ours any more: %s", story.order_id, what, exc)
            self.stats.refused += 1
            return None
        return None

    async def decide(self, story: Story, actor: Actor, *, approve: bool, reason: str) -> bool:
        """Approve or reject the story's waiting request; whether it went through (someone at
        a console may have decided first)."""
        waiting = story.request
        if waiting is None:
            return False
        try:
            decided = await actor.call(
                lambda c: c.requests.decide(
                    waiting.id, waiting.version, approve=approve, reason=reason
                )
            )
        except (Conflict, NotFound, PermissionDenied) as exc:
            log.info("request %s: decision refused: %s", waiting.id, exc)
            self.stats.refused += 1
            return False
        story.request = decided
        if approve:
            claim = decided.kind == RequestKind.CLAIM
            story.status = OrderState.CLAIMING if claim else OrderState.RETURNING
            story.version += 1
        self.stats.actions["approve" if approve else "reject"] += 1
        return True

    async def platform_says(self, story: Story, kind: str, reason: str = "") -> bool:
        """The order's sales platform calls back (`paid`, or `cancelled` by the customer);
        whether it changed the order."""
        result = await self.platforms.tell(story.plan, kind, self.clock.now(), reason)
        if result.order is not None:
            story.absorb(result.order)
        if result.outcome != CallbackOutcome.APPLIED:
            log.info("order %s: %s not applied: %s", story.order_id, kind, result.detail)
            self.stats.refused += 1
            return False
        self.stats.actions[{"paid": "pay", "cancelled": "cancel"}[kind]] += 1
        if story.status in FINAL:
            self.stories.pop(story.order_id, None)
        return True

    def hand_over(self, story: Story) -> None:
        """The story's order now belongs to `story.rider_id` (if a rider we play)."""
        for agent in self.riders.values():
            if agent.queue.pop(story.order_id, None) is not None:
                agent.wake.set()
        taker = self.riders.get(story.rider_id) if story.rider_id else None
        if taker is not None and story.status not in FINAL:
            taker.queue[story.order_id] = story
            taker.wake.set()

    # --- setting up -----------------------------------------------------------------------

    async def _setup(self) -> None:
        admin = self.cast["admin"]
        warehouses = await admin.call(lambda c: c.warehouses.all())
        self.warehouses = {w.id: (w.lat, w.lng) for w in warehouses}
        riders = await admin.call(lambda c: c.riders.all())
        wanted = self.config.riders or len(riders)
        if wanted > len(riders):
            riders += await self._register(admin, wanted - len(riders), [w.id for w in warehouses])
        accounts = {u.username for u in await admin.call(lambda c: c.users.all())}
        now = self.clock.now()
        for rider in riders[:wanted]:
            own = f"rider-{rider.id}" in accounts
            actor = self.cast[f"rider-{rider.id}"] if own else admin
            if rider.status != RiderStatus.ONLINE:
                rider = await actor.call(
                    lambda c, r: c.riders.set_status(r.id, RiderStatus.ONLINE), rider
                )
            home = self.warehouses[rider.warehouse_id]
            rng = random.Random(f"{self.config.seed}:rider:{rider.id}")
            self.riders[rider.id] = RiderAgent(
                rider=rider,
                actor=actor,
                own_account=own,
                home=home,
                leg=Leg.stay(home, now, datetime.max.replace(tzinfo=now.tzinfo)),
                speed_kmh=conditions.rider_skill_kmh(self.config.seed, rider.id),
                rng=rng,
                next_fix=now + timedelta(seconds=rng.uniform(0, FIX_EVERY_S)),
            )
        await self._subscribe()

    async def _register(self, admin: Actor, count: int, warehouse_ids: list[str]) -> list[Rider]:
        """More riders for a load test, spread over the warehouses, online from the start."""
        rng = random.Random(f"{self.config.seed}:crew")
        people = demo_city()["people"]
        crew = [
            RiderIn(
                name=f"{rng.choice(people['surnames'])} {rng.choice(people['given'])}",
                phone=f"137{rng.randrange(10**8):08d}",
                warehouse_id=warehouse_ids[i % len(warehouse_ids)],
                capacity=rng.randint(3, 5),
                cold_chain=rng.random() < 0.75,
                status=RiderStatus.ONLINE,
            )
            for i in range(count)
        ]
        registered = []
        for start in range(0, count, 1000):
            chunk = crew[start : start + 1000]
            registered += await admin.call(lambda c, some: c.riders.register(some), chunk)
        log.info("registered %d riders for the run", len(registered))
        return registered

    async def _subscribe(self) -> None:
        """The dispatch app's push channel: who got which order, what desks did."""
        self._spawn(self._follow_stream(self.cast["dispatcher"]), "stream")

    async def _follow_stream(self, desk: Actor) -> None:
        since: int | None = None
        while True:
            await desk.sign_in()  # first, and again whenever the token has expired
            self._stream = desk.client.stream([Topic.ORDERS], since=since)
            try:
                async with self._stream:
                    async for message in self._stream:
                        if isinstance(message, EventMessage):
                            self._on_event(message)
                return
            except NotAuthenticated:
                since = self._stream.last_seq

    def _on_event(self, event: Event) -> None:
        story = self.stories.get(event.order_id or 0)
        if story is None or not event.kind.startswith("order."):
            return  # a request's events carry the request's version, not the order's
        version = event.payload.get("version")
        before = story.status
        if isinstance(version, int) and version > story.version:
            story.version = version
            if event.to_state:
                story.status = OrderState(event.to_state)
        if event.kind == "order.assigned":
            story.rider_id = event.payload.get("to_rider")
            if story.status in (OrderState.DELIVERING, OrderState.EXCEPTION):
                story.left_on_road = True
                story.resumed.set()  # the rider who had the accident waits no longer
            self.hand_over(story)
        elif before == OrderState.EXCEPTION and story.status == OrderState.DELIVERING:
            story.resumed.set()
            rider = self.riders.get(story.rider_id or 0)
            if rider is not None:
                rider.wake.set()  # a rider who took it over waits for this
        if story.status in FINAL:
            self.stories.pop(story.order_id, None)
            story.reports.put_nowait("closed")
            for agent in self.riders.values():
                agent.queue.pop(story.order_id, None)

    # --- the loops ------------------------------------------------------------------------

    async def _place_orders(self) -> None:
        demand = Demand(
            self.config.seed,
            self.clock.now(),
            orders_per_hour=self.config.orders_per_hour,
            flat=self.config.flat,
            trouble=self.config.trouble,
        )
        for plan in demand:
            await self.sleep_until(plan.at)
            self._spawn(order_story(self, plan), f"order-{plan.external_id}")

    async def _pump_positions(self) -> None:
        """Every phone records a fix every 15 s and uploads when it has signal."""
        while True:
            now = self.clock.now()
            own: list[RiderAgent] = []
            relayed: list[FleetFix] = []
            for agent in self.riders.values():
                self._record_fixes(agent, now)
                if not agent.buffer or (agent.offline_until and now < agent.offline_until):
                    continue
                if agent.own_account:
                    own.append(agent)
                else:
                    relayed += [FleetFix(rider_id=agent.id, **p.model_dump()) for p in agent.buffer]
                    agent.buffer = []
            uploads = [self._upload(agent) for agent in own]
            uploads += [
                self._relay(relayed[i : i + RELAY_CHUNK])
                for i in range(0, len(relayed), RELAY_CHUNK)
            ]
            await asyncio.gather(*uploads)
            await asyncio.sleep(PUMP_EVERY_S)

    def _record_fixes(self, agent: RiderAgent, now: datetime) -> None:
        while agent.next_fix <= now:
            at = agent.next_fix
            agent.next_fix += timedelta(seconds=FIX_EVERY_S + agent.rng.uniform(-1, 1))
            if agent.silent_until and at < agent.silent_until:
                continue
            if agent.rng.random() < LOSES_SIGNAL:
                agent.offline_until = at + timedelta(seconds=agent.rng.uniform(60, 180))
            lat, lng = agent.position(at)
            agent.buffer.append(
                PositionPoint(
                    lat=round(lat + agent.rng.gauss(0, 0.00004), 6),
                    lng=round(lng + agent.rng.gauss(0, 0.00005), 6),
                    at=at,
                    speed_kmh=round(agent.leg.speed_kmh(), 1),
                    accuracy_m=round(agent.rng.uniform(3, 15), 1),
                )
            )

    async def _upload(self, agent: RiderAgent) -> None:
        points, agent.buffer = agent.buffer[-1000:], []
        async with self._uploads:
            try:
                await agent.actor.call(lambda c: c.riders.upload_positions(agent.id, points))
            except FreshlineError as exc:
                self.stats.errors += 1
                log.warning("rider %s: positions not uploaded: %s", agent.id, exc)
                return
        self.stats.fixes += len(points)
        self.stats.fix_requests += 1

    async def _relay(self, fixes: list[FleetFix]) -> None:
        try:
            await self.cast["admin"].call(lambda c: c.riders.relay_positions(fixes))
        except FreshlineError as exc:
            self.stats.errors += 1
            log.warning("fleet positions not relayed: %s", exc)
            return
        self.stats.fixes += len(fixes)
        self.stats.fix_requests += 1

    async def _replenish(self) -> None:
        """The stores' scheduled deliveries, by their accepted restock suggestions
        (`stores.restock_round`)."""
        while True:
            for warehouse_id in self.warehouses:
                merchant = self.cast[f"merchant-{warehouse_id.lower()}"]
                try:
                    done = await restock_round(merchant, warehouse_id, self.clock.now())
                except (ConnectionFailed, ServerError) as exc:
                    if getattr(exc, "status", None) == 500:
                        raise  # a bug to see, not an outage (the task's failure counts it)
                    # The backend out for longer than the store waits (a proxy's 502 while an
                    # instance restarts): the delivery is planned again next round, as a store
                    # would; an answer that refuses the round is an error.
                    log.warning("%s: restock round put off: %s", warehouse_id, exc)
                    self.stats.restock["put_off"] += 1
                    continue
                except FreshlineError as exc:
                    self.stats.errors += 1
                    log.warning("%s: restock round failed: %s", warehouse_id, exc)
                    continue
                self.stats.restock.update(done)
            await self.sleep(REPLENISH_EVERY_S)

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self.status_every)
            assert self.on_status is not None
            self.on_status(self.status_line())

    def status_line(self) -> str:
        """One line: simulated time, orders by stage, riders, rates, trouble."""
        now = self.clock.now().astimezone(BEIJING)
        stages = Counter(s.status for s in self.stories.values())
        done = self.stats.actions
        busy = sum(1 for a in self.riders.values() if a.queue or a.leg.speed_kmh() > 0)
        return (
            f"{now:%H:%M:%S} ({self.clock.speed:g}x) | orders {self.stats.orders}: "
            f"new {stages[OrderState.CREATED] + stages[OrderState.PAID]} "
            f"picking {stages[OrderState.PICKING]} "
            f"short {stages[OrderState.OUT_OF_STOCK]} "
            f"delivering {stages[OrderState.DELIVERING]} "
            f"exception {stages[OrderState.EXCEPTION] + stages[OrderState.RETURNING]} "
            f"signed {done['sign']} returned {done['complete_return']} "
            f"claims {done['settle_claim']} cancelled {done['cancel']} | "
            f"riders {len(self.riders)} ({busy} busy) | "
            f"{self.stats.per_second(self.stats.orders):.2f} orders/s, "
            f"{self.stats.per_second(self.stats.fixes):.0f} fixes/s | errors {self.stats.errors}"
        )
