"""Riders' progress on the live stream, on a real uvicorn: `order.eta`, `order.arrived` and the
warehouse fence reach a console subscribed to `orders` and `riders` in `seq` order, keeping the
order's version, and reach a rider only for their own orders."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from backend_client.models import PositionPoint
from tests.stream_support import Actors, Subscriber, ago, live_server, make_demo_database

WH_CY = (39.9334, 116.455)
CUSTOMER = (39.9361, 116.4551)
"""The demo customer of `Actors.create`: 300 m north of WH-CY."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rider-stream-template") / "f.db"
    asyncio.run(make_demo_database(path))
    return path


async def test_progress_events_reach_subscribers_in_scope(tmp_path: Path, template: Path) -> None:
    async with (
        live_server(tmp_path, template, feed_poll_seconds=0.05) as server,
        Actors(server.base_url) as actors,
    ):
        desk = await Subscriber.open(
            server.ws_url, await actors.token("dispatcher"), ["orders", "riders"]
        )
        own = await Subscriber.open(server.ws_url, await actors.token("rider-1"), ["orders"])
        other = await Subscriber.open(server.ws_url, await actors.token("rider-2"), ["orders"])
        try:
            await actors.online(1)
            order = await actors.assign(await actors.picking(), 1)
            rider = await actors("rider-1")
            order = await rider.orders.transition(order.id, "dispatch", order.version)
            points = [
                PositionPoint(lat=WH_CY[0], lng=WH_CY[1], at=ago(40)),
                PositionPoint(lat=WH_CY[0] - 0.003, lng=WH_CY[1], at=ago(30)),  # 334 m south
                PositionPoint(lat=CUSTOMER[0] - 0.0005, lng=CUSTOMER[1], at=ago(5)),  # 56 m
            ]
            for point in points:
                await rider.riders.upload_positions(1, [point])

            kinds = {"order.eta", "order.arrived", "rider.left_warehouse"}
            await desk.wait_for(
                lambda s: kinds <= {e["kind"] for e in s.events}, 10, "progress events"
            )
            progress = [e for e in desk.events if e["kind"] in kinds]
            assert [e["kind"] for e in progress][:2] == ["order.eta", "rider.left_warehouse"]
            eta = progress[0]
            assert (eta["order_id"], eta["rider_id"]) == (order.id, 1)
            assert eta["payload"]["version"] == order.version
            assert eta["payload"]["sequence"] == 1
            assert datetime.fromisoformat(eta["payload"]["eta"]) > datetime.fromisoformat(eta["at"])
            arrived = next(e for e in progress if e["kind"] == "order.arrived")
            assert arrived["payload"]["distance_m"] < 150
            assert arrived["payload"]["version"] == order.version

            await own.wait_for(
                lambda s: "order.arrived" in {e["kind"] for e in s.events}, 10, "arrival"
            )
            assert {e["kind"] for e in own.events} >= {"order.eta", "order.arrived"}
            assert not any(e["kind"].startswith("rider.") for e in own.events)  # orders only
            await asyncio.sleep(0.3)
            assert not [e for e in other.events if e["order_id"] == order.id]
        finally:
            for subscriber in (desk, own, other):
                await subscriber.aclose()
