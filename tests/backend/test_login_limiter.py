"""The login limiter through the real app: per pair, per address, per account and a spray
detector, all refusing with 429 and Retry-After, the right password included; familiar
addresses keep their way in; X-Forwarded-For believed from trusted proxies only."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backend.auth.attempts import DatabaseCounters, RedisCounters
from backend.auth.login_limiter import LoginLimiter, LoginLimits, Tally
from backend.clock import ManualClock
from backend.db import Database
from backend.errors import RateLimited
from backend.settings import Settings
from tests.support import started

PROXY = "127.0.0.1"
"""The address httpx's ASGITransport gives every request: the proxy, where one is trusted."""


class Door:
    """Sign-in attempts against one app, from an address of the test's choosing."""

    def __init__(self, client: httpx.AsyncClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock

    async def sign_in(
        self, username: str, password: str, *, forwarded_for: str | None = None
    ) -> httpx.Response:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return await self.client.post(
            "/api/v1/auth/token",
            data={"username": username, "password": password},
            headers=headers,
        )

    async def right(self, username: str, *, forwarded_for: str | None = None) -> httpx.Response:
        return await self.sign_in(username, f"demo-{username}", forwarded_for=forwarded_for)

    async def wrong(self, username: str, *, forwarded_for: str | None = None) -> httpx.Response:
        response = await self.sign_in(username, "Spring2026!", forwarded_for=forwarded_for)
        assert response.status_code == 401, response.text
        return response


async def door_on(database_url: str, clock: ManualClock, **settings: Any) -> AsyncIterator[Door]:
    async for api in started(database_url, clock, **settings):
        yield Door(api.client, clock)


@pytest.fixture
async def door(database_url: str, clock: ManualClock) -> AsyncIterator[Door]:
    """The app with its default limits, and no trusted proxy."""
    async for door in door_on(database_url, clock):
        yield door


@pytest.fixture
async def behind_proxy(database_url: str, clock: ManualClock) -> AsyncIterator[Door]:
    """Behind a trusted proxy (every request's peer), with small limits."""
    async for door in door_on(
        database_url,
        clock,
        trusted_proxies=[PROXY],
        login_account_max_failures=6,
        login_spray_max_failures=8,
    ):
        yield door


def assert_refused(response: httpx.Response, window: int = 300) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window
    return retry_after


async def test_a_lockout_refuses_the_right_password_until_the_window_passes(door: Door) -> None:
    for _ in range(5):
        await door.wrong("dispatcher")
    retry_after = assert_refused(await door.right("dispatcher"))
    # A name that does not exist is refused in the very same words: nothing tells them apart.
    for _ in range(5):
        await door.wrong("nobody-here")
    assert (await door.sign_in("nobody-here", "x")).json() == (
        await door.right("dispatcher")
    ).json()
    door.clock.advance(seconds=retry_after)
    assert (await door.right("dispatcher")).status_code == 200


async def test_a_success_wipes_the_pairs_slate(door: Door) -> None:
    for _ in range(4):
        await door.wrong("dispatcher")
    assert (await door.right("dispatcher")).status_code == 200
    for _ in range(4):
        await door.wrong("dispatcher")
    assert (await door.right("dispatcher")).status_code == 200


async def test_one_address_spraying_a_password_over_many_accounts_is_throttled(
    door: Door,
) -> None:
    """34 accounts, one guess each, from one address: past 20 failures the address is refused
    at every account it never signed in to, the right password included."""
    answers = [(await door.sign_in(f"user-{n}", "Spring2026!")).status_code for n in range(34)]
    assert answers[:20] == [401] * 20
    assert answers[20:] == [429] * 14
    assert_refused(await door.right("support"))


async def test_guesses_at_one_account_from_many_addresses_lock_out_new_places_only(
    behind_proxy: Door,
) -> None:
    door = behind_proxy
    assert (await door.right("support", forwarded_for="198.51.100.7")).status_code == 200
    for n in range(6):
        await door.wrong("support", forwarded_for=f"203.0.113.{n}")
    assert_refused(await door.right("support", forwarded_for="203.0.113.99"))
    # Where its owner signs in from, the account is open: the attacker cannot lock them out.
    assert (await door.right("support", forwarded_for="198.51.100.7")).status_code == 200
    # Other accounts are untouched by it.
    assert (await door.right("viewer", forwarded_for="203.0.113.99")).status_code == 200


async def test_a_spray_from_many_addresses_closes_unfamiliar_places_everywhere(
    behind_proxy: Door,
) -> None:
    """One guess per address and per account, eight in all: the spray detector trips; new
    (account, address) pairs are refused, familiar ones still get in."""
    door = behind_proxy
    assert (await door.right("dispatcher", forwarded_for="198.51.100.7")).status_code == 200
    for n in range(8):
        await door.wrong(f"user-{n}", forwarded_for=f"203.0.113.{n}")
    assert_refused(await door.right("viewer", forwarded_for="192.0.2.1"))
    assert (await door.right("dispatcher", forwarded_for="198.51.100.7")).status_code == 200
    door.clock.advance(seconds=300)
    assert (await door.right("viewer", forwarded_for="192.0.2.1")).status_code == 200


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(door: Door) -> None:
    # No proxy trusted (the default): the header is the client's word and changes nothing.
    for n in range(5):
        await door.wrong("dispatcher", forwarded_for=f"203.0.113.{n}")
    assert_refused(await door.right("dispatcher", forwarded_for="203.0.113.200"))


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(behind_proxy: Door) -> None:
    door = behind_proxy
    for _ in range(3):
        await door.wrong("viewer", forwarded_for="203.0.113.1")
    # The proxy's header says another client: its own count, still clean.
    assert (await door.right("viewer", forwarded_for="203.0.113.2")).status_code == 200
    for _ in range(2):
        await door.wrong("viewer", forwarded_for="203.0.113.1")
    assert_refused(await door.right("viewer", forwarded_for="203.0.113.1"))
    # A client behind the proxy cannot pose as another by adding its own entry: the proxy
    # appends the address it saw, and the right-most untrusted one counts.
    assert_refused(await door.right("viewer", forwarded_for="203.0.113.2, 203.0.113.1"))


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Settings(trusted_proxies=["10.0.0.5", "10.1.0.0/16", "::1"]).trusted_proxies
    with pytest.raises(ValueError, match="not an address or network"):
        Settings(trusted_proxies=["proxy.internal"])


async def test_ended_counters_are_deleted(database_url: str) -> None:
    """Names tried once are never tried again; their rows do not pile up."""
    clock = ManualClock()
    db = Database(database_url)
    await db.start()
    try:
        counters = DatabaseCounters(db, now=lambda: clock.now().timestamp())
        for n in range(50):
            assert await counters.incr(f"guess-{n}", 300) == 1
        assert await counters.incr("guess-1", 300) == 2
        assert await counters.get("guess-1") == 2
        clock.advance(seconds=301)
        assert await counters.get("guess-1") == 0
        assert await counters.incr("fresh", 300) == 1
        # A key longer than the column (a long address from a trusted proxy) is kept whole.
        long_key = "LIMITER/login-pair/x/" + "9" * 1000
        assert await counters.incr(long_key, 300) == 1
        assert await counters.incr(long_key, 300) == 2
        assert await counters.get(long_key) == 2
        await counters.clear(long_key)
        assert await counters.get(long_key) == 0
        async with db.read() as session:
            left = await session.scalar(text("SELECT count(*) FROM login_attempts"))
        assert left == 1
    finally:
        await db.dispose()


async def test_with_redis_down_the_database_goes_on_counting(database_url: str) -> None:
    """Redis first, the database behind it: a Redis that does not answer neither lets guesses
    through uncounted nor stops sign-ins; the counts land in the database, which every
    instance shares too."""
    clock = ManualClock()
    db = Database(database_url)
    await db.start()
    with socket.socket() as unused:  # a port nothing listens on: refused at once
        unused.bind(("127.0.0.1", 0))
        dead = RedisCounters(f"redis://127.0.0.1:{unused.getsockname()[1]}/0")
    try:

        def now() -> float:
            return clock.now().timestamp()

        limiter = LoginLimiter(
            [Tally(dead.storage, dead.now), Tally(DatabaseCounters(db, now=now), now)],
            LoginLimits(max_failures=3),
        )
        for _ in range(3):
            await limiter.admit("dispatcher", "10.0.0.1")
            await limiter.failed("dispatcher", "10.0.0.1")
        with pytest.raises(RateLimited) as refused:
            await limiter.admit("dispatcher", "10.0.0.1")
        assert 1 <= refused.value.retry_after <= 300
        async with db.read() as session:
            rows = await session.scalar(text("SELECT count(*) FROM login_attempts"))
        assert rows == 4  # the pair, the address, the account and the spray
    finally:
        await dead.close()
        await db.dispose()
