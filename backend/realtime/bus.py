"""The bus between a committed change and every instance's hub.

`LocalBus` (default) serves one instance. `RedisBus` (`FRESHLINE_BUS_URL=redis://...`) lets
several instances sharing one PostgreSQL serve the same stream: a commit on instance A wakes
the feeds of B and C, which then read the event log. Rider positions, which are not in the
log, travel whole, and so does "forget this token" (a sign-out, an account disabled). The bus
is a hint, never the record: if Redis is down, feeds still poll and token caches expire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from backend_client import cancel_and_wait

log = logging.getLogger(__name__)

SeqListener = Callable[[int | None], None]
"""Events up to `seq` are in the log (None: some, read it)."""
PositionListener = Callable[[dict[str, Any]], None]
ForgetListener = Callable[[str | None, int | None], None]
"""A token digest to forget, or an account whose tokens to forget."""


class Bus(Protocol):
    async def start(
        self, on_seq: SeqListener, on_position: PositionListener, on_forget: ForgetListener
    ) -> None: ...
    def announce_seq(self, seq: int | None) -> None: ...
    def announce_position(self, position: dict[str, Any]) -> None: ...
    def announce_forget(self, digest: str | None, user_id: int | None) -> None: ...
    async def ping(self) -> str: ...
    async def stop(self) -> None: ...


class LocalBus:
    """Within one process: announcements go straight to the listeners."""

    async def start(
        self, on_seq: SeqListener, on_position: PositionListener, on_forget: ForgetListener
    ) -> None:
        self._on_seq, self._on_position = on_seq, on_position

    def announce_seq(self, seq: int | None) -> None:
        self._on_seq(seq)

    def announce_position(self, position: dict[str, Any]) -> None:
        self._on_position(position)

    def announce_forget(self, digest: str | None, user_id: int | None) -> None:
        pass  # the one instance forgot already

    async def ping(self) -> str:
        """Readiness: nothing to reach."""
        return "in-process"

    async def stop(self) -> None:
        pass


class RedisBus:
    """Redis pub/sub between instances; each instance also hears itself directly."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Redis pub/sub ignores the database number, so the channel carries it: deployments
        # sharing one Redis server on different databases do not hear each other.
        self.channel = f"freshline:bus:{_database_number(url)}"
        self.instance = uuid.uuid4().hex
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None

    async def start(
        self, on_seq: SeqListener, on_position: PositionListener, on_forget: ForgetListener
    ) -> None:
        from redis.asyncio import Redis

        self._on_seq, self._on_position, self._on_forget = on_seq, on_position, on_forget
        self._redis = Redis.from_url(self.url)
        await self._redis.ping()  # fail at start-up, loudly, if the URL is wrong
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._publish(), name="bus-publish"),
        ]

    def announce_seq(self, seq: int | None) -> None:
        self._on_seq(seq)
        self._send({"seq": seq})

    def announce_position(self, position: dict[str, Any]) -> None:
        self._on_position(position)
        self._send({"position": position})

    def announce_forget(self, digest: str | None, user_id: int | None) -> None:
        self._send({"forget": {"digest": digest, "user_id": user_id}})

    async def ping(self) -> str:
        """Readiness: Redis answers (raises if it does not)."""
        if self._redis is None:
            raise ConnectionError("the bus was never started")
        await self._redis.ping()
        return "redis"

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._outgoing.put_nowait(json.dumps({"from": self.instance, **message}))
        except asyncio.QueueFull:
            log.warning("bus backlog full; dropping an announcement (feeds still poll)")

    async def _publish(self) -> None:
        while True:
            message = await self._outgoing.get()
            try:
                await self._redis.publish(self.channel, message)
            except Exception:
                log.exception("could not publish to %s", self.url)
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for raw in pubsub.listen():
                        if raw.get("type") == "message":
                            self._deliver(json.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus subscription to %s failed; retrying", self.url)
                await asyncio.sleep(1)

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("from") == self.instance:
            return
        if "seq" in message:
            seq = message["seq"]
            self._on_seq(None if seq is None else int(seq))
        elif "position" in message:
            self._on_position(message["position"])
        elif "forget" in message:
            forget = message["forget"]
            self._on_forget(forget.get("digest"), forget.get("user_id"))

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        if self._redis is not None:  # start may have failed before connecting
            await self._redis.aclose()


def _database_number(url: str) -> int:
    from redis.connection import parse_url

    return int(parse_url(url).get("db", 0))


def bus_for(url: str | None) -> Bus:
    return RedisBus(url) if url else LocalBus()
