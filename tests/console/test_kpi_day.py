"""The KPI feed's day against the real backend (in process, on a manual clock): cut at the
business zone's midnight on the backend's clock, not the machine's, and fetched again as soon
as a summary counts orders the day does not hold (at 11:41 the chart said "no orders yet
today" beside an Orders tile of 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from backend_client import FreshlineClient
from console.kpi_feed import KpiFeed
from console.store import Store
from tests.support import Api

BEIJING = ZoneInfo("Asia/Shanghai")


@asynccontextmanager
async def supervisor(api: Api) -> AsyncIterator[FreshlineClient]:
    async with FreshlineClient(
        "http://testserver",
        token=await api.token("supervisor"),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        yield client


def day_total(store: Store) -> int:
    assert store.kpi.series is not None
    return sum(b.figures.orders for b in store.kpi.series.buckets)


async def test_the_day_is_the_backends_day_in_the_business_zone(api: Api) -> None:
    for _ in range(2):
        await api.create_order()
    api.clock.advance(minutes=1)
    server_now = api.clock.now()
    store = Store()  # the machine's clock, as at start before the live feed reads the server's
    assert not store.clock.anchored
    async with supervisor(api) as client:
        feed = KpiFeed(client, store, zone=BEIJING)
        await feed.tick()
        assert store.clock.anchored
        assert store.kpi.series is not None
        local = server_now.astimezone(BEIJING)
        midnight = datetime(local.year, local.month, local.day, tzinfo=BEIJING)
        assert store.kpi.series.window.start == midnight
        # The API's own answer for that day, and the feed's, count the same orders.
        answer = await client.kpi.series(start=midnight, end=server_now, bucket_minutes=15)
        assert day_total(store) == sum(b.figures.orders for b in answer.buckets) == 2


async def test_the_day_is_fetched_again_when_a_summary_counts_orders_it_lacks(api: Api) -> None:
    await api.create_order()
    api.clock.advance(minutes=1)
    store = Store()
    async with supervisor(api) as client:
        feed = KpiFeed(client, store, zone=BEIJING, day_every=3600, day_behind_every=0)
        await feed.tick()
        assert day_total(store) == 1 and not store.kpi.day_behind()
        fetched = store.kpi.day_at
        await feed.tick()  # nothing new: the day is not asked for again
        assert store.kpi.day_at == fetched
        for _ in range(3):
            await api.create_order()
        api.clock.advance(minutes=1)
        await feed.refresh_summary()  # as the stream pushes one every few seconds
        assert store.kpi.summary is not None and store.kpi.summary.current.orders == 4
        assert store.kpi.day_behind()
        await feed.tick()  # an hour before the day's own turn
        assert day_total(store) == 4 and not store.kpi.day_behind()
