"""Two backend instances share one count of failed sign-ins: N instances never allow N x 5.

Two real apps side by side on one database (SQLite file or PostgreSQL): the counters live in
its `login_attempts` table. With the Redis bus configured, they live in Redis instead.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from backend.clock import ManualClock
from tests.backend.test_login_limiter import PROXY, Door, assert_refused, door_on
from tests.backend.test_stream_instances import (
    REDIS_HOST,
    REDIS_PORT,
    pg_scalars,
    require_redis,
)
from tests.conftest import truncate_all


async def two_doors(
    database_url: str, clock: ManualClock, **settings: Any
) -> AsyncIterator[tuple[Door, Door]]:
    async with AsyncExitStack() as stack:
        doors = []
        for _ in range(2):
            opened = door_on(database_url, clock, **settings)
            doors.append(await anext(opened))
            stack.push_async_callback(opened.aclose)
        yield doors[0], doors[1]


async def test_two_instances_on_one_database_share_the_count(
    database_url: str, clock: ManualClock
) -> None:
    async for a, b in two_doors(database_url, clock):
        for door in (a, b, a, b, a):
            await door.wrong("dispatcher")
        assert_refused(await b.right("dispatcher"))
        assert_refused(await a.right("dispatcher"))
        # The spray count is shared as well: 20 failures from one address, split over both.
        for n in range(15):
            await (a if n % 2 else b).wrong(f"user-{n}")
        assert_refused(await a.right("support"))
        assert_refused(await b.right("support"))


async def forget_login_counters(url: str) -> None:
    """Redis outlives a run: the spray counter is global, so runs in a row would add up to it."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match="*login-*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.mark.postgres
@pytest.mark.slow
async def test_two_instances_on_the_redis_bus_share_the_count_in_redis(
    postgres_url: str, clock: ManualClock
) -> None:
    """With the bus on Redis, the counters are there (nothing is written to the database). The
    address is one of the run's own, through a trusted proxy: Redis outlives the test."""
    require_redis()
    await truncate_all(postgres_url)
    await forget_login_counters(f"redis://{REDIS_HOST}:{REDIS_PORT}/9")
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    ghost = f"ghost-{uuid.uuid4().hex[:12]}"
    bus = {"bus_url": f"redis://{REDIS_HOST}:{REDIS_PORT}/9", "trusted_proxies": [PROXY]}
    async for a, b in two_doors(postgres_url, clock, **bus):
        for door in (a, b, a, b, a):
            await door.wrong(ghost, forwarded_for=address)
        for door in (a, b):
            response = await door.sign_in(ghost, "another guess", forwarded_for=address)
            assert_refused(response)
        for _ in range(5):
            await b.wrong("dispatcher", forwarded_for=address)
        assert_refused(await a.right("dispatcher", forwarded_for=address))
    (rows,) = await pg_scalars(postgres_url, "SELECT count(*) FROM login_attempts")
    assert rows == 0
