"""The live feed: keeps the store in step with the backend (snapshot, stream, stale orders).

Runs as the app's one `live-feed` worker. It loads a snapshot over REST, then follows the stream
from the `seq` the snapshot was taken at (events already in the snapshot are dropped by version),
fetches orders the store marked stale, and re-reads the server's clock now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from backend_client import (
    FreshlineClient,
    FreshlineError,
    NotFound,
    Stream,
    StreamMessage,
    StreamStatus,
    cancel_and_wait,
)
from backend_client.models import (
    Alert,
    EventMessage,
    KpiMessage,
    Me,
    Order,
    OrderState,
    PositionMessage,
    Rider,
    SnapshotRequired,
    Topic,
)
from console.roles import ALERTS_READ, KPI_READ, may
from console.store import BOARD_STATES, Store

log = logging.getLogger(__name__)


def desk(me: Me) -> bool:
    """A desk account (the KPIs are theirs to read): its console also follows the riders and the
    KPIs; a merchant's follows its orders and alerts."""
    return may(me, KPI_READ)


PAGE = 500
STALE_BATCH = 50
CLOCK_EVERY_S = 60.0


def topics_for(me: Me) -> list[Topic]:
    """What `me`'s console follows, by the permissions the server gave the account."""
    topics = [Topic.ORDERS]
    if desk(me):
        topics += [Topic.RIDERS, Topic.KPI]
    if may(me, ALERTS_READ):
        topics.append(Topic.ALERTS)
    return topics


class LiveFeed:
    """One account's live picture of one backend, kept in `store` while `run()` runs."""

    def __init__(self, client: FreshlineClient, store: Store, me: Me) -> None:
        self.client, self.store, self.me = client, store, me
        store.stages = None if me.stages is None else frozenset(me.stages)
        self.topics = topics_for(me)
        self.stream: Stream | None = None

    async def run(self) -> None:
        """Follow the backend until cancelled; raises NotAuthenticated when the token dies."""
        await self.sync_clock()
        await self.reload()
        self.stream = self.client.stream(list(self.topics), since=self.store.last_seq)
        chores = asyncio.create_task(self._chores())
        try:
            async with self.stream:
                async for message in self.stream:
                    await self.take(message)
        finally:
            await cancel_and_wait(chores)

    async def take(self, message: StreamMessage) -> None:
        """Apply one message of the stream to the store."""
        match message:
            case EventMessage():
                self.store.apply(message)
            case PositionMessage():
                self.store.move_rider(message)
            case KpiMessage():
                self.store.set_kpi(message.summary)
            case SnapshotRequired():
                await self.reload(message.last_seq)
            case StreamStatus():
                self.store.set_connection(message)

    async def sync_clock(self) -> None:
        health = await self.client.health()
        self.store.clock.anchor(health.time, health.clock_speed)

    async def reload(self, last_seq: int | None = None) -> None:
        """Load every order on the board and every rider, as of `last_seq` or later."""
        if last_seq is None:
            last_seq = (await self.client.events(None, [*self.topics])).last_seq
        orders: list[Order] = [
            o async for o in self.client.orders.every(status=list(BOARD_STATES), limit=PAGE)
        ]
        since = self.store.clock.now() - self.store.signed_window
        orders += [
            o
            async for o in self.client.orders.every(
                status=[OrderState.SIGNED], updated_since=since, limit=PAGE
            )
        ]
        riders: list[Rider] = await self.client.riders.all() if Topic.RIDERS in self.topics else []
        alerts: list[Alert] = (
            await self.client.alerts.all(limit=2000) if Topic.ALERTS in self.topics else []
        )
        self.store.load(orders, riders, last_seq, alerts)
        if Topic.RIDERS in self.topics and not self.store.warehouses:
            await self.load_geography()
        log.info(
            "snapshot: %d orders, %d riders, %d alerts, seq %s",
            len(orders),
            len(riders),
            len(alerts),
            last_seq,
        )

    async def load_geography(self) -> None:
        """The map's static layer: warehouses, and the zones' outlines when the backend has
        them (a backend without `/zones` still gets a map of its warehouses)."""
        warehouses = await self.client.warehouses.all()
        try:
            zones = [(zone.name, zone.polygon) for zone in await self.client.warehouses.zones()]
        except FreshlineError as exc:
            log.info("no zones from the backend: %r", exc)
            zones = []
        self.store.set_geography(zones, [(w.id, w.lat, w.lng) for w in warehouses])

    async def _chores(self) -> None:
        since_clock = 0.0
        while True:
            await asyncio.sleep(0.25)
            await self.fetch_stale()
            since_clock += 0.25
            if since_clock >= CLOCK_EVERY_S:
                since_clock = 0.0
                with contextlib.suppress(FreshlineError):
                    await self.sync_clock()

    async def fetch_stale(self) -> None:
        """Fetch orders the store could not place from events alone."""
        wanted = sorted(self.store.stale)[:STALE_BATCH]
        if not wanted:
            return
        answers = await asyncio.gather(
            *(self.client.orders.get(order_id) for order_id in wanted), return_exceptions=True
        )
        for order_id, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, Order):
                self.store.put_order(answer)
            elif isinstance(answer, NotFound):
                self.store.stale.discard(order_id)  # out of our scope now, or gone
            else:
                log.warning("could not fetch order %s: %r", order_id, answer)
