"""The simulator's people: the demo's accounts, and one signed-in client per account, as a real
deployment's apps have.

Every call goes through `Actor.call`, which signs in again when a token has expired (the demo's
clock can run fast) and waits out a backend that is restarting, so a story is not lost to a
blip; what still fails is counted and given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from backend.sim.city import demo_city
from backend_client import ConnectionFailed, FreshlineClient, NotAuthenticated, ServerError
from backend_client.models import Channel, Me, Role

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

# How long an action keeps retrying a backend that does not answer before giving up.
OUTAGE_PATIENCE_S = 60.0

DESK_ACCOUNTS = (Role.DISPATCHER, Role.SUPERVISOR, Role.SUPPORT, Role.ADMIN, Role.VIEWER)


@dataclass(frozen=True)
class DemoAccount:
    """An account the demo creates (`backend.demo`) and the simulator signs in as."""

    username: str
    role: Role
    warehouse_id: str | None = None
    rider_id: int | None = None
    channel: str | None = None

    @property
    def password(self) -> str:
        return demo_password(self.username)


def demo_password(username: str) -> str:
    return f"demo-{username}"


def demo_accounts(rider_ids: list[int]) -> list[DemoAccount]:
    """Desk staff, one merchant per warehouse, one account per rider and per channel."""
    city = demo_city()
    accounts = [DemoAccount(str(role), role) for role in DESK_ACCOUNTS]
    accounts += [
        DemoAccount(merchant_account(w["id"]), Role.MERCHANT, warehouse_id=w["id"])
        for w in city["warehouses"]
    ]
    accounts += [DemoAccount(f"rider-{rid}", Role.RIDER, rider_id=rid) for rid in rider_ids]
    accounts += [DemoAccount(channel_account(c), Role.CHANNEL, channel=c.value) for c in Channel]
    return accounts


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
        self._me: Me | None = None

    async def sign_in(self) -> None:
        async with self._signing_in:
            answer = await self.client.login(self.username, demo_password(self.username))
            self.client.token = answer.access_token

    async def call(
        self,
        act: Callable[Concatenate[FreshlineClient, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`act(client, *args, **kwargs)`, signed in, through short outages. Arguments after
        `act` are bound at the call, as a loop's variables must be."""
        if self.client.token is None:
            await self.sign_in()
        waited = 0.0
        while True:
            try:
                return await act(self.client, *args, **kwargs)
            except NotAuthenticated:
                await self.sign_in()
                return await act(self.client, *args, **kwargs)
            except (ConnectionFailed, ServerError) as exc:
                # A 500 is a bug to see, not an outage to sit out.
                if waited >= OUTAGE_PATIENCE_S or getattr(exc, "status", 503) == 500:
                    raise
                log.info("%s: backend unavailable (%s); retrying", self.username, exc)
                await asyncio.sleep(2.0)
                waited += 2.0

    async def me(self) -> Me:
        """The account as the server sees it (role, scope, what it may approve), asked once."""
        if self._me is None:
            self._me = await self.call(FreshlineClient.me)
        return self._me

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
