"""Each instance's webhook deliverer: leases subscriptions and runs a courier for each it holds.

With several instances on one database, a subscription is delivered by one instance at a time:
the instance holding its lease (`lease_owner`, `lease_until`). Every tick an instance, in one
transaction, writes its couriers' progress (refused if an admin replayed or resumed meanwhile,
or the lease went elsewhere), renews its leases when half run out and takes the ones nobody
holds or whose holder stopped renewing. A courier posts only while its lease is current, so two
instances never post the same subscription at once; a graceful stop writes the progress and
hands the leases back, so a restart resumes at once from the cursor.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import system_principal
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.crypto.cipher import active
from backend.db import Database
from backend.outbound.backoff import Backoff
from backend.realtime.feed import EventFeed, FeedItem
from backend.realtime.outbox import append_event
from backend.settings import Settings
from backend.sql import Query, json_value, sql_of
from backend.webhooks.courier import Courier, Held, Progress, Rules
from backend.webhooks.delivery import Poster
from backend.webhooks.interest import Interest
from backend_client import wait_event
from backend_client.models import WebhookState

log = logging.getLogger(__name__)

SECRET_LABEL = "webhooks.secret"
ROWS = Query(
    "SELECT id, url, secret, kinds, channel, warehouse_id, state, cursor, generation, "
    "failures, lease_owner, lease_until FROM webhooks"
)
SAVE = Query(
    # A courier knows only what happened since it started: what it has not seen (None) keeps
    # the row's value, so a restart does not wipe the last error or the last delivery's time.
    "UPDATE webhooks SET cursor = :cursor, failures = :failures, state = :state, "
    "last_error = COALESCE(:last_error, last_error), "
    "last_attempt_at = COALESCE(:last_attempt_at, last_attempt_at), "
    "last_delivered_at = COALESCE(:last_delivered_at, last_delivered_at) "
    "WHERE id = :id AND generation = :generation AND lease_owner = :me"
)
CLAIM = Query(
    "UPDATE webhooks SET lease_owner = :me, lease_until = :until WHERE state = 'active' AND "
    "(lease_owner IS NULL OR lease_until < :now OR (lease_owner = :me AND lease_until < :renew))"
)
RELEASE = Query(
    "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = :me"
)


@dataclass(frozen=True, slots=True)
class Row:
    """A subscription as the tick reads it."""

    id: int
    url: str
    secret: str
    kinds: list[str]
    channel: str | None
    warehouse_id: str | None
    state: str
    cursor: int
    generation: int
    failures: int
    lease_owner: str | None
    lease_until: float | None

    @classmethod
    def of(cls, row: Any) -> Row:
        return cls(
            row[0], row[1], row[2], json_value(row[3]), row[4], row[5], row[6], row[7],
            row[8], row[9], row[10], row[11],
        )  # fmt: skip

    def held(self) -> Held:
        return Held(
            self.id,
            self.url,
            active().decrypt(self.secret, SECRET_LABEL),
            Interest.of(self.kinds, self.channel, self.warehouse_id),
            self.generation,
            self.cursor,
            self.failures,
        )


class Deliverer(BackgroundLoop):
    """Leases subscriptions for this instance and keeps one courier per held subscription."""

    name = "webhook-deliverer"

    def __init__(
        self,
        db: Database,
        feed: EventFeed,
        clock: Clock,
        *,
        rules: Rules,
        lease_seconds: float,
        tick_seconds: float,
        poster: Poster,
        wall: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        super().__init__()
        self.owner = owner or uuid.uuid4().hex
        """This instance, as its leases name it."""
        self.couriers: dict[int, Courier] = {}
        self._db = db
        self._feed = feed
        self._clock = clock
        self._rules = rules
        self._lease_seconds = lease_seconds
        self._tick_seconds = tick_seconds
        self._poster = poster
        self._wall = wall
        self._leases: dict[int, float] = {}
        self._nudged = asyncio.Event()
        feed.listeners.append(self._heard)

    @classmethod
    def of(cls, db: Database, feed: EventFeed, clock: Clock, settings: Settings) -> Deliverer:
        rules = Rules(
            max_failures=settings.webhook_max_failures,
            backoff=Backoff(settings.webhook_backoff_seconds, settings.webhook_backoff_cap_seconds),
            poll_seconds=settings.webhook_poll_seconds,
            batch_max=settings.webhook_batch_max,
        )
        return cls(
            db,
            feed,
            clock,
            rules=rules,
            lease_seconds=settings.webhook_lease_seconds,
            tick_seconds=settings.webhook_tick_seconds,
            poster=Poster(timeout=settings.webhook_timeout_seconds),
        )

    def nudge(self) -> None:
        """A subscription was created, replayed, resumed or deleted: look now, not next tick."""
        self._nudged.set()

    def _heard(self, _items: list[FeedItem]) -> None:
        for courier in self.couriers.values():
            courier.wake()

    async def stop(self) -> None:
        """Stop the couriers, write their progress and hand the leases back."""
        await super().stop()
        couriers = list(self.couriers.values())
        for courier in couriers:
            await courier.stop()
        try:
            await self._db.write(self._releasing([c.progress() for c in couriers if c.dirty]))
        except Exception:
            # Not written: the next holder delivers the last events again (at least once).
            log.exception("webhook progress not written at stop")
        self.couriers.clear()
        await self._poster.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                # The database may be restarting; couriers stop posting when their leases
                # lapse, and the next tick tries again.
                log.exception("webhook tick failed")
            self._nudged.clear()
            await wait_event(self._nudged, self._tick_seconds)

    async def tick(self) -> None:
        """Write progress, renew and take leases, and start or stop couriers to match."""
        now = self._wall()
        async with self._db.read() as session:
            rows = [Row.of(r) for r in await sql_of(session).all(ROWS)]
        progress = [c.progress() for c in self.couriers.values() if c.dirty]
        if progress or any(self._wants_lease(row, now) for row in rows):
            rows = await self._db.write(self._saving(progress, now))
            for p in progress:
                if p.id in self.couriers:
                    self.couriers[p.id].saved(p)
        await self._match(rows, now)

    def _wants_lease(self, row: Row, now: float) -> bool:
        if row.state != WebhookState.ACTIVE:
            return False
        if row.lease_owner == self.owner:
            return (row.lease_until or 0) < now + self._lease_seconds / 2
        return row.lease_owner is None or (row.lease_until or 0) < now

    def _saving(self, progress: Sequence[Progress], now: float) -> Callable[[AsyncSession], Any]:
        async def job(session: AsyncSession) -> list[Row]:
            sql = sql_of(session)
            for p in progress:
                saved = await sql.run(SAVE, self._params(p))
                if saved and p.state is WebhookState.PARKED:
                    await append_event(
                        session,
                        kind="webhook.parked",
                        actor=system_principal(),
                        at=self._clock.now(),
                        reason=p.last_error,
                        payload={"webhook_id": p.id, "cursor": p.cursor, "failures": p.failures},
                    )
            lease = {"me": self.owner, "now": now, "until": now + self._lease_seconds}
            await sql.run(CLAIM, {**lease, "renew": now + self._lease_seconds / 2})
            return [Row.of(r) for r in await sql.all(ROWS)]

        return job

    def _releasing(self, progress: Sequence[Progress]) -> Callable[[AsyncSession], Any]:
        async def job(session: AsyncSession) -> None:
            sql = sql_of(session)
            for p in progress:
                await sql.run(SAVE, self._params(p))
            await sql.run(RELEASE, {"me": self.owner})

        return job

    def _params(self, p: Progress) -> dict[str, Any]:
        return {
            "me": self.owner,
            "id": p.id,
            "generation": p.generation,
            "cursor": p.cursor,
            "failures": p.failures,
            "state": str(p.state),
            "last_error": p.last_error,
            "last_attempt_at": p.last_attempt_at,
            "last_delivered_at": p.last_delivered_at,
        }

    async def _match(self, rows: list[Row], now: float) -> None:
        """One courier per subscription this instance holds, at the generation it holds."""
        held = {
            row.id: row
            for row in rows
            if row.state == WebhookState.ACTIVE
            and row.lease_owner == self.owner
            and (row.lease_until or 0) > now
        }
        self._leases = {row_id: row.lease_until or 0 for row_id, row in held.items()}
        for row_id in list(self.couriers):
            courier = self.couriers[row_id]
            row = held.get(row_id)
            stale = row is None or row.generation != courier.held.generation
            if stale or (not courier.running and not courier.dirty):
                del self.couriers[row_id]
                await courier.stop()
        for row_id, row in held.items():
            if row_id not in self.couriers:
                courier = Courier(
                    row.held(),
                    feed=self._feed,
                    poster=self._poster,
                    rules=self._rules,
                    now=self._clock.now,
                    leased=self._lease_of(row_id),
                )
                self.couriers[row_id] = courier
                courier.start()

    def _lease_of(self, row_id: int) -> Callable[[], bool]:
        """Whether this instance still holds `row_id`'s lease (checked before every post)."""
        return lambda: self._leases.get(row_id, 0.0) > self._wall()
