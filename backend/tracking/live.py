"""Live tracking subscriptions: each open `/track/{token}/live` socket is a `Watcher` of one
order, fed from the same event feed as the staff stream and from the riders' positions.

Cheap at a thousand sockets: watchers are kept by order, so an event costs a dictionary look-up
(not a pass over every socket), and the customer view of a changed order is built once, from
one read, for all of that order's watchers (never once per watcher). Everything a watcher is
owed is latest-wins: the newest view and the newest rider position. A view is the whole state
of the order (with the `seq` of its newest event), so a slow phone gets the current view, not
a backlog, and nothing is lost by skipping views in between.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from backend.db import Database
from backend.realtime.feed import EventFeed, FeedItem
from backend.tracking.view import view_and_carrier
from backend_client import cancel_and_wait
from backend_client.models.tracking import TrackingUpdate, TrackingView

log = logging.getLogger(__name__)


class Watcher:
    """One live socket of one order's link: what it is owed, newest first."""

    def __init__(self, order_id: int, since: int | None) -> None:
        self.order_id = order_id
        self.sent_seq = -1 if since is None else since
        """The newest view's seq taken for sending; a view at or below it is not sent."""
        self.view: str | None = None
        self.position: str | None = None
        self.ready = asyncio.Event()
        self.closed: tuple[int, str] | None = None

    def offer_view(self, seq: int, message: str) -> None:
        if seq <= self.sent_seq:
            return
        self.sent_seq = seq
        self.view = message
        self.position = None  # the view carries the rider's position as of its reading
        self.ready.set()

    def offer_position(self, message: str) -> None:
        self.position = message
        self.ready.set()

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.ready.set()

    def take(self) -> list[str]:
        """The newest view, then the newest position, once each."""
        owed = [m for m in (self.view, self.position) if m is not None]
        self.view = self.position = None
        self.ready.clear()
        return owed


class TrackingLive:
    """Every live tracking socket of this instance, by order and by the rider carrying it."""

    def __init__(self, db: Database, feed: EventFeed) -> None:
        self.db = db
        self.watchers: dict[int, set[Watcher]] = {}
        self.carried_by: dict[int, int] = {}
        """Order -> the rider carrying it, for watched orders out for delivery (positions)."""
        self.orders_of: dict[int, set[int]] = {}
        """Rider -> watched orders they carry out for delivery."""
        self.changed: set[int] = set()
        self.views_built = 0
        """Views built for watchers (a figure for the bench and tests)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        feed.listeners.append(self.dispatch)

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_forever(), name="tracking-live")

    async def stop(self) -> None:
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.close(1001, "the server is shutting down")
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def attach(self, watcher: Watcher) -> TrackingView:
        """Start feeding `watcher`; it is owed the current view unless it has it already
        (`since` at or beyond the view's seq). Registered before the view is read, so an
        event committed meanwhile reaches it as a newer view."""
        self.watchers.setdefault(watcher.order_id, set()).add(watcher)
        view = await self._build(watcher.order_id)
        if watcher.sent_seq > view.seq:
            # Ahead of the order's log (the database was replaced): the page's state is not
            # ours; it gets the view as it stands.
            watcher.sent_seq = -1
        watcher.offer_view(view.seq, _update(view))
        return view

    def detach(self, watcher: Watcher) -> None:
        order_id = watcher.order_id
        watchers = self.watchers.get(order_id)
        if watchers is None:
            return
        watchers.discard(watcher)
        if not watchers:
            del self.watchers[order_id]
            self._carry(order_id, None)

    def dispatch(self, items: list[FeedItem]) -> None:
        """The feed's new events: the watched orders among them are read again, once each."""
        for item in items:
            order_id = item.event["order_id"]
            if order_id is not None and order_id in self.watchers:
                self.changed.add(order_id)
        if self.changed:
            self._wake.set()

    def on_position(self, position: dict[str, Any]) -> None:
        """A rider's new fix (this instance's or heard on the bus): to the watchers of the
        orders they carry out for delivery, and nobody else."""
        orders = self.orders_of.get(position["rider_id"])
        if not orders:
            return
        message = orjson.dumps(
            {"type": "position", "lat": position["lat"], "lng": position["lng"],
             "at": position["at"]}
        ).decode()  # fmt: skip
        for order_id in orders:
            for watcher in self.watchers.get(order_id, ()):
                watcher.offer_position(message)

    async def _refresh_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            changed, self.changed = self.changed, set()
            for order_id in sorted(changed):
                if order_id not in self.watchers:
                    continue
                try:
                    view = await self._build(order_id)
                except Exception:
                    # The database may be restarting: read it again with the next change
                    # (the page also polls while its socket is quiet).
                    log.exception("tracking view of order %s not read", order_id)
                    continue
                message = _update(view)
                for watcher in self.watchers.get(order_id, ()):
                    watcher.offer_view(view.seq, message)

    async def _build(self, order_id: int) -> TrackingView:
        async with self.db.read() as session:
            view, rider = await view_and_carrier(session, order_id)
        self.views_built += 1
        if order_id in self.watchers:
            self._carry(order_id, rider)
        return view

    def _carry(self, order_id: int, rider_id: int | None) -> None:
        before = self.carried_by.pop(order_id, None)
        if before is not None:
            orders = self.orders_of.get(before)
            if orders is not None:
                orders.discard(order_id)
                if not orders:
                    del self.orders_of[before]
        if rider_id is not None:
            self.carried_by[order_id] = rider_id
            self.orders_of.setdefault(rider_id, set()).add(order_id)


def _update(view: TrackingView) -> str:
    return TrackingUpdate(view=view).model_dump_json()
