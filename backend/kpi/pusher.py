"""Pushes the KPI summary of the last `kpi_push_window_minutes` to every subscriber of the
stream's `kpi` topic every `kpi_push_seconds`, computed once per distinct warehouse or zone
filter (not once per console). A new subscriber is greeted with the newest summary at once.

Like positions, a summary is latest-wins and not in the durable `seq` stream: a console that
reconnects simply gets the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from backend.clock import Clock
from backend.db import Database
from backend.kpi import service
from backend.realtime.hub import Connection, Hub
from backend_client import cancel_and_wait, within
from backend_client.models import KpiMessage, Topic

log = logging.getLogger(__name__)

FilterKey = tuple[str | None, str | None]


class KpiPusher:
    """One task per backend instance; idle while nobody subscribes to `kpi`."""

    def __init__(
        self, db: Database, clock: Clock, hub: Hub, *, period: float, window: timedelta
    ) -> None:
        self.db, self.clock, self.hub = db, clock, hub
        self.period, self.window = period, window
        self.newest: dict[FilterKey, tuple[float, str]] = {}
        """Per filter: when (monotonic) the newest summary was computed, and its message."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        hub.joined.append(self._joined)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kpi-pusher")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def _joined(self, connection: Connection) -> None:
        if Topic.KPI not in connection.subscription.topics:
            return
        held = self.newest.get(_key(connection))
        if held is not None and time.monotonic() - held[0] < self.period:
            connection.offer_kpi(held[1])
        else:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self.period, self._wake.wait())
            self._wake.clear()
            try:
                await self.push()
            except Exception:
                # The database may be restarting: subscribers keep their last summary (and
                # can tell its age by `computed_at`); the next round tries again.
                log.exception("KPI summary could not be computed")

    async def push(self) -> None:
        """Compute and send one summary per filter in use by a `kpi` subscriber."""
        groups: dict[FilterKey, list[Connection]] = {}
        for connection in list(self.hub.connections):
            if Topic.KPI in connection.subscription.topics and connection.failure is None:
                groups.setdefault(_key(connection), []).append(connection)
        self.newest = {k: v for k, v in self.newest.items() if k in groups}
        for key, connections in groups.items():
            message = await self._summary(*key)
            self.newest[key] = (time.monotonic(), message)
            for connection in connections:
                connection.offer_kpi(message)

    async def _summary(self, warehouse_id: str | None, zone: str | None) -> str:
        now = self.clock.now()
        scope = service.scope_for(
            now=now,
            start=None,
            end=None,
            default_length=self.window,
            warehouse_id=warehouse_id,
            zone=zone,
        )
        async with self.db.read() as session:
            summary = await service.summary(session, scope, now=now)
        return KpiMessage(summary=summary).model_dump_json()


def _key(connection: Connection) -> FilterKey:
    return connection.subscription.warehouse_id, connection.subscription.zone
