"""One subscription's delivery loop: follows the log from its cursor and posts what it wants.

Strictly one request at a time, in `seq` order: the events waiting (up to `batch_max` a
request) go together, and nothing after them is posted before the endpoint took them (a 2xx),
so an endpoint that is down holds its subscription back and no other. A failure waits
(`Backoff`, full jitter) and posts the same events again; after `max_failures` in a row the
subscription is parked. The cursor moves only past delivered (or unwanted)
events and lives here until the deliverer writes it (`Deliverer`, every tick): after a crash
the events since the last write are delivered again, never skipped.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from backend.outbound.backoff import Backoff
from backend.realtime.feed import EventFeed, FeedItem
from backend.webhooks.delivery import Poster
from backend.webhooks.interest import Interest
from backend_client import cancel_and_wait, wait_event
from backend_client.models import WebhookState

log = logging.getLogger(__name__)

BATCH = 500
"""Events taken from the log at a time."""


@dataclass(frozen=True, slots=True)
class Held:
    """A subscription as its lease gave it to this instance."""

    id: int
    url: str
    secret: str
    interest: Interest
    generation: int
    cursor: int
    failures: int


@dataclass(frozen=True, slots=True)
class Progress:
    """What the deliverer writes back (taken without an await, so it is consistent)."""

    id: int
    generation: int
    cursor: int
    failures: int
    state: WebhookState
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None
    changes: int
    """The courier's count of changes when taken: it is saved up to there."""


@dataclass(frozen=True, slots=True)
class Rules:
    """How deliveries are retried, shared by every courier of an instance."""

    max_failures: int
    backoff: Backoff
    poll_seconds: float
    batch_max: int = 100
    """Events a request carries at most."""


class Courier:
    """Delivers one held subscription until stopped, parked or its lease lapses."""

    def __init__(
        self,
        held: Held,
        *,
        feed: EventFeed,
        poster: Poster,
        rules: Rules,
        now: Callable[[], datetime],
        leased: Callable[[], bool],
        rng: random.Random | None = None,
    ) -> None:
        self.held = held
        self.cursor = held.cursor
        self.failures = held.failures
        self.state = WebhookState.ACTIVE
        self.last_error: str | None = None
        self.last_attempt_at: datetime | None = None
        self.last_delivered_at: datetime | None = None
        self._changes = 0
        self._saved = 0
        self._feed = feed
        self._poster = poster
        self._rules = rules
        self._now = now
        self._leased = leased
        self._rng = rng or random.Random()
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def dirty(self) -> bool:
        """Whether there is progress the database has not got yet."""
        return self._changes != self._saved

    def progress(self) -> Progress:
        return Progress(
            self.held.id, self.held.generation, self.cursor, self.failures, self.state,
            self.last_error, self.last_attempt_at, self.last_delivered_at, self._changes,
        )  # fmt: skip

    def saved(self, progress: Progress) -> None:
        """The database has `progress` now."""
        self._saved = progress.changes

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"webhook-{self.held.id}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def wake(self) -> None:
        """New events were committed: look at the log now."""
        self._news.set()

    async def _run(self) -> None:
        try:
            while self.state is WebhookState.ACTIVE and self._leased():
                items = await self._next()
                if not items:
                    await self._wait_for_news()
                    continue
                wanted = [item for item in items if self.held.interest.wants(item.event)]
                size = self._rules.batch_max
                for start in range(0, len(wanted), size):
                    batch = wanted[start : start + size]
                    # What comes before it is not wanted: passed over, so the lag shown
                    # counts only what is really waiting.
                    self.cursor = max(self.cursor, batch[0].seq - 1)
                    if not await self._deliver(batch):
                        return  # parked, or the lease lapsed: nothing after it may go first
                    self.cursor = batch[-1].seq
                    self._changes += 1
                self.cursor = items[-1].seq  # and past what it does not want
                self._changes += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug or the database gone; the deliverer starts a fresh courier at the next tick
            # from the cursor, so nothing is skipped.
            log.exception("webhook %s stopped", self.held.id)

    async def _next(self) -> list[FeedItem]:
        """Events after the cursor the feed has passed, oldest first (memory, else the log)."""
        feed = self._feed
        if self.cursor >= feed.last_seq:
            return []
        if self.cursor + 1 >= feed.ring_first:
            return feed.held_after(self.cursor)[:BATCH]
        return await feed.read(self.cursor, feed.last_seq + 1, BATCH)

    async def _wait_for_news(self) -> None:
        self._news.clear()
        if self.cursor < self._feed.last_seq:
            return
        await wait_event(self._news, self._rules.poll_seconds)

    async def _deliver(self, batch: list[FeedItem]) -> bool:
        """Post `batch` until it is taken (True) or the subscription parks or loses its lease."""
        held = self.held
        events = [(item.seq, item.redacted_body) for item in batch]
        while self._leased():
            self.last_attempt_at = self._now()
            self._changes += 1
            outcome = await self._poster.post(held.url, held.secret, held.id, events)
            if outcome.delivered:
                self.failures = 0
                self.last_delivered_at = self._now()
                return True
            self.failures += 1
            self.last_error = f"seq {batch[0].seq}: {outcome.error}"[:500]
            if self.failures >= self._rules.max_failures:
                self.state = WebhookState.PARKED
                log.warning("webhook %s parked after %s failures", held.id, self.failures)
                return False
            await asyncio.sleep(self._rules.backoff.delay(self.failures, self._rng))
        return False
