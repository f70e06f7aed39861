"""The order's detail shows the deliveries it travels in (merged with another order here) and
says in words what happened to them on its timeline; against a real backend, under Pilot."""

from __future__ import annotations

import pytest

from backend_client.demo import demo_channel_secret
from console.app import FreshlineApp
from screens.order_detail import OrderDetailScreen
from tests.backend.channel_support import sample_order
from tests.console.conftest import until
from tests.console.test_console_live import text_of
from tests.stream_support import Actors, LiveServer

pytestmark = pytest.mark.slow  # the console against a real backend


async def test_the_detail_shows_a_merged_delivery(backend: LiveServer, actors: Actors) -> None:
    platform = await actors("admin")
    first, second = sample_order("app"), sample_order("app")
    for payload, number in ((first, "0001"), (second, "0002")):
        payload["orderNo"] = f"APP-DETAIL-{number}"
        payload.pop("expectedArrival")  # the sample's promise is long past on this clock
    a = await platform.channels.send_order("app", first, demo_channel_secret("app"))
    b = await platform.channels.send_order("app", second, demo_channel_secret("app"))
    assert a.deliveries == b.deliveries
    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: a.order.id in app.store.orders, "the board")
        app.push_screen(OrderDetailScreen(b.order.id))
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        await until(pilot, lambda: detail.parcels, "the deliveries")
        shown = text_of(detail.query_one("#deliveries"))
        assert f"delivery {b.deliveries[0]}" in shown
        assert f"shared with #{a.order.id} (merged)" in shown
        assert "no rider yet" in shown and "open" in shown
        timeline = detail.query_one("#timeline")
        words = [str(timeline.get_row_at(i)[1]) for i in range(timeline.row_count)]
        assert "merged into a shared delivery" in words
