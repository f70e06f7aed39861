"""The simulator's people: one signed-in client per account, as a real deployment's apps have.

Every call goes through `Actor.call`, which signs in again when a token has expired (the demo's
clock can run fast) and waits out a backend that is restarting, so a story is not lost to a
blip; what still fails is counted and given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from backend.sim.seed import demo_password
from backend_client import ConnectionFailed, FreshlineClient, NotAuthenticated, ServerError

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long an action keeps retrying a backend that does not answer before giving up.
OUTAGE_PATIENCE_S = 60.0


class Actor:
    """One account of the demo: its client, signed in on first use."""

    def __init__(
        self,
        server: str,
        username: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.username = username
        self.client = FreshlineClient(server, transport=transport, timeout=30.0)
        self._signing_in = asyncio.Lock()

    async def sign_in(self) -> None:
        async with self._signing_in:
            answer = await self.client.login(self.username, demo_password(self.username))
            self.client.token = answer.access_token

    async def call(self, act: Callable[[FreshlineClient], Awaitable[T]]) -> T:
        """`act(client)`, signed in, through short outages."""
        if self.client.token is None:
            await self.sign_in()
        waited = 0.0
        while True:
            try:
                return await act(self.client)
            except NotAuthenticated:
                await self.sign_in()
                return await act(self.client)
            except (ConnectionFailed, ServerError) as exc:
                # A 500 is a bug to see, not an outage to sit out.
                if waited >= OUTAGE_PATIENCE_S or getattr(exc, "status", 503) == 500:
                    raise
                log.info("%s: backend unavailable (%s); retrying", self.username, exc)
                await asyncio.sleep(2.0)
                waited += 2.0

    async def aclose(self) -> None:
        await self.client.aclose()


class Cast:
    """Every actor the simulator plays, created on first use."""

    def __init__(self, server: str, *, transport: httpx.AsyncBaseTransport | None = None):
        self.server, self.transport = server, transport
        self._actors: dict[str, Actor] = {}

    def __getitem__(self, username: str) -> Actor:
        actor = self._actors.get(username)
        if actor is None:
            actor = self._actors[username] = Actor(self.server, username, transport=self.transport)
        return actor

    async def aclose(self) -> None:
        await asyncio.gather(*(a.aclose() for a in self._actors.values()))


def channel_account(channel: Any) -> str:
    return f"channel-{str(channel).replace('_', '-')}"


def merchant_account(warehouse_id: str) -> str:
    return f"merchant-{warehouse_id.lower()}"
