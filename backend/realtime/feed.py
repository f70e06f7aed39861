"""The event feed: follows the event log in `seq` order and hands each new event to the hub.

Events this instance numbered are handed over by the writer right after commit (`offer`), as
rows, without reading them back. The log stays the only source of truth: whatever does not
follow on from the last `seq` (another instance numbered in between) is read from it.
Announcements on the bus only say "there is something after seq N"; the feed then reads the
log, so events committed through another instance arrive in order and a missed announcement
costs at most one poll interval, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select

from backend.auth.redaction import redact_event
from backend.db import Database
from backend.realtime.models import EventRow
from backend.realtime.outbox import COLUMNS, LoggedEvent
from backend.sql import Query, sql_of
from backend_client import cancel_and_wait, within

log = logging.getLogger(__name__)

BATCH = 1000
ERASURE = "customer.erased"
"""An event after which the log's events of the orders it names read differently: held copies
are read again (on every instance: the one that erased rewrote its own at once)."""
READ = Query(
    f"SELECT seq, {COLUMNS} FROM events WHERE seq > :after AND seq < :before "
    "ORDER BY seq LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One event, parsed for filtering and serialised once for every subscriber."""

    seq: int
    event: dict[str, Any]
    body: str
    """The event as a JSON object text, starting with `{`."""
    redacted_body: str
    """The same for merchants, riders and channels (see auth/redaction.py)."""


def feed_item(row: EventRow | LoggedEvent) -> FeedItem:
    """The event as the wire has it (`backend_client.models.Event`, fields in its order, times
    as pydantic writes them), built and serialised here directly: once per event, at any rate."""
    assert row.seq is not None, "only numbered events are on the stream"
    event = {
        "seq": row.seq,
        "kind": row.kind,
        "order_id": row.order_id,
        "rider_id": row.rider_id,
        "warehouse_id": row.warehouse_id,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "actor": row.actor,
        "role": row.role,
        "client_addr": row.client_addr,
        "at": row.at.isoformat().replace("+00:00", "Z"),
        "reason": row.reason,
        "payload": row.payload,
    }
    return FeedItem(row.seq, event, _json(event), _json(redact_event(event)))


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


class EventFeed:
    """Keeps the newest `ring_size` events in memory and follows the log as it grows."""

    def __init__(self, db: Database, *, ring_size: int, poll_seconds: float) -> None:
        self.db = db
        self.ring: deque[FeedItem] = deque(maxlen=ring_size)
        self.last_seq = 0
        self.poll_seconds = poll_seconds
        self.listeners: list[Callable[[list[FeedItem]], None]] = []
        self._wake = asyncio.Event()
        self._advanced = asyncio.Event()
        self._reading = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._rereads: set[asyncio.Task[int]] = set()

    async def start(self) -> None:
        async with self.db.read() as session:
            self.last_seq = (
                await session.scalar(select(func.coalesce(func.max(EventRow.seq), 0))) or 0
            )
        self._task = asyncio.create_task(self._follow(), name="event-feed")

    async def stop(self) -> None:
        await cancel_and_wait(*(task for task in [self._task, *self._rereads] if task is not None))

    def offer(self, rows: list[LoggedEvent]) -> None:
        """Rows numbered by this instance's writer, in `seq` order: taken at once when they
        follow on from the last event; otherwise the log is read (it has them, and what is
        between)."""
        fresh = [row for row in rows if row.seq is not None and row.seq > self.last_seq]
        if not fresh:
            return
        if _follow_on(fresh, self.last_seq):
            self._take([feed_item(row) for row in fresh])
        else:
            self._wake.set()

    def wake(self, seq: int | None = None) -> None:
        """Something was committed (up to `seq`): read the log now rather than at the next poll."""
        if seq is None or seq > self.last_seq:
            self._wake.set()

    def rewrite(self, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
        """Replace the held events `change` gives a new version of (a customer's erasure
        rewrote them in the log); how many it replaced."""
        replaced = 0
        for index, item in enumerate(self.ring):
            event = change(item.event)
            if event is not None:
                self.ring[index] = FeedItem(
                    item.seq, event, _json(event), _json(redact_event(event))
                )
                replaced += 1
        return replaced

    async def reread_orders(self, order_ids: frozenset[int]) -> int:
        """Replace the held events of these orders by the log's (rewritten by an erasure, here
        or on another instance); how many it replaced."""
        held = [item.seq for item in self.ring if item.event["order_id"] in order_ids]
        if not held:
            return 0
        async with self.db.read() as session:
            rows = await session.scalars(select(EventRow).where(EventRow.seq.in_(held)))
            fresh = {row.seq: feed_item(row).event for row in rows}
        return self.rewrite(lambda event: fresh.get(event["seq"]))

    def _reread_erased(self, items: list[FeedItem]) -> None:
        erased = frozenset(
            order_id
            for item in items
            if item.event["kind"] == ERASURE
            for order_id in item.event["payload"].get("order_ids", ())
        )
        if erased:
            task = asyncio.get_running_loop().create_task(self.reread_orders(erased))
            self._rereads.add(task)
            task.add_done_callback(self._reread_done)

    def _reread_done(self, task: asyncio.Task[int]) -> None:
        self._rereads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("held events of erased orders not read again", exc_info=task.exception())

    @property
    def ring_first(self) -> int:
        """The oldest seq held in memory (`last_seq + 1` when none is)."""
        return self.ring[0].seq if self.ring else self.last_seq + 1

    def held_after(self, seq: int) -> list[FeedItem]:
        """Events after `seq` from memory; the caller checks `seq + 1 >= ring_first`."""
        if seq >= self.last_seq:
            return []
        skip = max(0, seq + 1 - self.ring_first)
        return [self.ring[i] for i in range(skip, len(self.ring))]

    async def read(self, after: int, before: int, limit: int) -> list[FeedItem]:
        """Events with `after < seq < before`, from the database, oldest first (as plain rows:
        every instance reads every other instance's events, so this is paid per event)."""
        async with self.db.read() as session:
            rows = await sql_of(session).all(
                READ, {"after": after, "before": before, "limit": limit}
            )
            return [feed_item(LoggedEvent.of_row(row)) for row in rows]

    async def wait_beyond(
        self, seq: int, seconds: float, *, unless: asyncio.Event | None = None
    ) -> None:
        """Return once the feed has passed `seq`, after `seconds`, or once `unless` is set."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self.last_seq <= seq and not (unless is not None and unless.is_set()):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            waits = [asyncio.ensure_future(self._advanced.wait())]
            if unless is not None:
                waits.append(asyncio.ensure_future(unless.wait()))
            try:
                await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self.poll_seconds, self._wake.wait())
            self._wake.clear()
            try:
                await self.catch_up()
            except Exception:
                # The database may be restarting; the next poll tries again.
                log.exception("event feed could not read the log")

    async def catch_up(self) -> None:
        """Read everything committed so far. One reader at a time: two would dispatch twice."""
        async with self._reading:
            await self._catch_up()

    async def _catch_up(self) -> None:
        while True:
            read = await self.read(self.last_seq, 2**62, BATCH)
            # The writer may have handed over some of them while this read was under way.
            items = [item for item in read if item.seq > self.last_seq]
            if items:
                self._take(items)
            if len(read) < BATCH:
                return

    def _take(self, items: list[FeedItem]) -> None:
        """Events that follow on from `last_seq`, in order. No await in here: ring, last_seq and
        what the hub has dispatched change together, so a subscriber attaching in between sees
        a consistent picture (see Hub.attach)."""
        self.ring.extend(items)
        self.last_seq = items[-1].seq
        self._reread_erased(items)
        for listener in self.listeners:
            listener(items)
        # Waiters of `wait_beyond` wake and look again; later ones wait on a new event.
        self._advanced.set()
        self._advanced = asyncio.Event()


def _follow_on(rows: list[LoggedEvent], last_seq: int) -> bool:
    """Whether the rows' numbers run on from `last_seq` with no gap."""
    expected = last_seq + 1
    for row in rows:
        if row.seq != expected:
            return False
        expected += 1
    return True
