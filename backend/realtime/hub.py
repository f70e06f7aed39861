"""The WebSocket hub: one `Connection` per console, fed by the event feed and the bus.

Each connection has a bounded outbox. A console that stops reading fills it and is cut off
with close code 4429 (it resumes by seq when it returns); nobody else waits for it. Rider
positions are not queued: each connection keeps only the newest fix per rider.

A revoked token (signed out, its account disabled or changed) ends its connections and its
long polls at once (`Hub.revoke`, told by the token cache here and over the bus): a connection
failed is sent nothing more, so nothing committed after the revocation reaches it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.auth.redaction import sees_staff_details
from backend.realtime.feed import EventFeed, FeedItem
from backend.realtime.visibility import Subscription
from backend_client.models import Heartbeat, SnapshotRequired

log = logging.getLogger(__name__)


class CloseCode:
    """Close codes of the stream (docs/stream.md)."""

    GOING_AWAY = 1001
    INTERNAL_ERROR = 1011
    BAD_MESSAGE = 4400
    NOT_AUTHENTICATED = 4401
    FORBIDDEN = 4403
    IDLE = 4408
    TOO_SLOW = 4429


REVOKED = "signed out, or the account was disabled or changed; sign in again"


@dataclass(eq=False)
class PollWatch:
    """A long poll under way: its token and account, and whether they were revoked since."""

    digest: str
    user_id: int | None
    revoked: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, digest: str | None, user_id: int | None) -> bool:
        return _matches(self.digest, self.user_id, digest, user_id)


def _matches(
    own_digest: str | None, own_user: int | None, digest: str | None, user_id: int | None
) -> bool:
    if digest is not None and digest == own_digest:
        return True
    return user_id is not None and user_id == own_user


class Connection:
    """What one subscriber is owed: queued messages, newest positions, and why it must close."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        queue_limit: int,
        since: int,
        digest: str | None = None,
    ) -> None:
        self.subscription = subscription
        self.digest = digest
        """The digest of the token it was opened with (revocation closes it)."""
        self.queue_limit = queue_limit
        self.outbox: deque[str] = deque()
        self.positions: dict[int, str] = {}
        self.kpi: str | None = None
        """The newest KPI summary not yet sent (latest wins, like positions)."""
        self.prev_seq = since
        self.staff_view = sees_staff_details(subscription.principal)
        self.backlog = 0
        """Replayed messages at the head of the outbox; bounded by the replay limit instead."""
        self.ready = asyncio.Event()
        self.failure: tuple[int, str] | None = None
        self.failed = asyncio.Event()

    def offer_event(
        self,
        item: FeedItem,
        zones: Mapping[str, str],
        *,
        replay: bool = False,
        states: Mapping[int, str] | None = None,
    ) -> None:
        if not self.subscription.sees(item.event, zones, states):
            return
        # The body was serialised once for everyone; only prev_seq is this connection's own.
        body = item.body if self.staff_view else item.redacted_body
        message = f'{{"type":"event","prev_seq":{self.prev_seq},{body[1:]}'
        if replay:
            self.outbox.append(message)
            self.backlog += 1
        else:
            self.push(message)
        self.prev_seq = item.seq

    def offer_position(self, rider_id: int, message: str) -> None:
        if self.failure is not None:
            return
        self.positions[rider_id] = message
        self.ready.set()

    def offer_kpi(self, message: str) -> None:
        if self.failure is not None:
            return
        self.kpi = message
        self.ready.set()

    def push(self, message: str) -> None:
        if self.failure is not None:
            return
        if len(self.outbox) - self.backlog >= self.queue_limit:
            self.fail(
                CloseCode.TOO_SLOW,
                f"too slow: {self.queue_limit} messages waiting; reconnect and resume by seq",
            )
            return
        self.outbox.append(message)
        self.ready.set()

    def fail(self, code: int, reason: str) -> None:
        if self.failure is None:
            self.failure = (code, reason)
            self.failed.set()

    def take(self) -> list[str]:
        """Everything owed now: queued messages in order, then the newest positions (nothing
        once it failed: it is closing)."""
        if self.failure is not None:
            self.ready.clear()
            return []
        messages = list(self.outbox)
        self.outbox.clear()
        self.backlog = 0
        if self.positions:
            messages.extend(self.positions.values())
            self.positions.clear()
        if self.kpi is not None:
            messages.append(self.kpi)
            self.kpi = None
        self.ready.clear()
        return messages


ORDER_STATES_KEPT = 200_000
"""Orders whose newest state the hub remembers; beyond that, those in a final state go (an
event about one later is shown only to accounts that see every state)."""


def note_states(states: dict[int, str], items: list[FeedItem]) -> None:
    """Remember each order's newest state from the events that moved it (an alert's or a
    request's states are their own)."""
    for item in items:
        event = item.event
        order_id, state = event.get("order_id"), event.get("to_state")
        if order_id is not None and state is not None and event["kind"].startswith("order."):
            states[order_id] = state
    if len(states) > ORDER_STATES_KEPT:
        for order_id in [k for k, v in states.items() if v in FINAL]:
            del states[order_id]


FINAL = frozenset({"SIGNED", "RETURNED", "CLAIM_SETTLED", "CANCELLED"})


class Hub:
    """Every open stream connection of this backend instance."""

    def __init__(self, feed: EventFeed, *, replay_limit: int) -> None:
        self.feed = feed
        self.replay_limit = replay_limit
        self.connections: set[Connection] = set()
        self.zones: dict[str, str] = {}
        """Warehouse id -> zone, for zone filters on events that carry no zone."""
        self.polls: set[PollWatch] = set()
        """Long polls under way, so a revocation ends them at once."""
        self.order_states: dict[int, str] = {}
        """Order id -> its newest state as the feed told it (or as loaded at start), for
        stage scopes on events that carry no state (an ETA, a request, an alert)."""
        self.joined: list[Callable[[Connection], None]] = []
        """Told of each connection as it goes live (the KPI pusher greets `kpi` subscribers)."""
        self.closed: Counter[int] = Counter()
        """Connections the server closed, by close code (4429: too slow), for the metrics:
        counted here when the hub failed them, by the stream's router otherwise."""
        feed.listeners.append(self.dispatch)

    def dispatch(self, items: list[FeedItem]) -> None:
        note_states(self.order_states, items)
        for connection in list(self.connections):
            for item in items:
                connection.offer_event(item, self.zones, states=self.order_states)

    def dispatch_position(self, position: dict[str, Any]) -> None:
        message = json.dumps({"type": "position", **position}, separators=(",", ":"))
        rider_id, warehouse_id = position["rider_id"], position["warehouse_id"]
        for connection in list(self.connections):
            if connection.subscription.sees_position(rider_id, warehouse_id, self.zones):
                connection.offer_position(rider_id, message)

    async def attach(self, connection: Connection, since: int | None) -> None:
        """Replay what `connection` missed after `since`, then make it live, with no gap and
        no duplicate at the seam; or tell it to reload a snapshot when `since` is too old."""
        feed = self.feed
        if since is not None and since > feed.last_seq:
            # Perhaps committed through another instance and not yet read here: read the log
            # before calling the client ahead of it (only a replaced database makes it so).
            await feed.catch_up()
        if since is None or since > feed.last_seq:
            self._go_live(connection, reason=None if since is None else "ahead of the log")
            return
        if feed.last_seq - since > self.replay_limit:
            self._go_live(connection, reason="too far behind to replay")
            return
        # The replay is bounded by the replay limit, not by the live queue limit: a console
        # that missed more than one queue's worth must still be able to catch up.
        while since + 1 < feed.ring_first:
            # Older than memory: read the gap from the database first (this awaits).
            items = await feed.read(since, feed.ring_first, self.replay_limit)
            if not items or items[0].seq != since + 1 or items[-1].seq - since != len(items):
                # A hole in the log: those events moved to the archive (docs/data-tiers.md).
                self._go_live(connection, reason="older than the hot tier (archived)")
                return
            for item in items:
                connection.offer_event(item, self.zones, replay=True, states=self.order_states)
            since = items[-1].seq
        # From memory, without awaiting: nothing can be dispatched in between.
        for item in feed.held_after(since):
            connection.offer_event(item, self.zones, replay=True, states=self.order_states)
        connection.ready.set()
        self._join(connection)

    def _join(self, connection: Connection) -> None:
        self.connections.add(connection)
        for listener in self.joined:
            listener(connection)

    def _go_live(self, connection: Connection, *, reason: str | None) -> None:
        last_seq = self.feed.last_seq
        if reason is not None:
            connection.push(SnapshotRequired(last_seq=last_seq, reason=reason).model_dump_json())
        connection.prev_seq = last_seq
        self._join(connection)

    def detach(self, connection: Connection) -> None:
        self.connections.discard(connection)
        if connection.failure is not None:
            self.closed[connection.failure[0]] += 1

    def heartbeat(self, connection: Connection, now: datetime) -> None:
        connection.push(Heartbeat(last_seq=self.feed.last_seq, at=now).model_dump_json())

    def revoke(self, digest: str | None, user_id: int | None) -> None:
        """A token (by digest), or every token of an account, no longer counts: close its
        connections (4401) and end its long polls (401), now."""
        for connection in list(self.connections):
            user = connection.subscription.principal.user_id
            if _matches(connection.digest, user, digest, user_id):
                connection.fail(CloseCode.NOT_AUTHENTICATED, REVOKED)
        for watch in list(self.polls):
            if watch.matches(digest, user_id):
                watch.revoked.set()

    @contextmanager
    def watching(self, digest: str, user_id: int | None) -> Iterator[PollWatch]:
        """A long poll's watch for revocation, for as long as the poll lasts."""
        watch = PollWatch(digest, user_id)
        self.polls.add(watch)
        try:
            yield watch
        finally:
            self.polls.discard(watch)

    def close_all(self, reason: str) -> None:
        for connection in list(self.connections):
            connection.fail(CloseCode.GOING_AWAY, reason)
