"""The simulator's customers: some open the tracking link the channel sent them, some follow it
live, and those sign on it when their rider asks at the door; the signatures land as proofs."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.sim.runner import SimConfig, Simulator
from backend_client import FreshlineClient
from backend_client.models import Topic
from tests.backend.test_simulator import assert_no_server_errors, demo_server

pytestmark = [pytest.mark.slow, pytest.mark.long(45)]  # a simulated city


async def test_customers_open_their_links_and_sign_on_them(tmp_path: Path) -> None:
    with demo_server(tmp_path, speed=120) as server:
        config = SimConfig(
            server=server.base_url, seed=5, orders_per_hour=150, trouble=0, duration=40
        )
        stats = await Simulator(config).run()
        assert stats.errors == 0, stats.summary()
        assert stats.tracking_views > 0 and stats.tracking_sockets > 0, stats.summary()
        assert stats.signatures > 0, stats.summary()
        async with FreshlineClient(server.base_url) as client:
            client.token = (await client.login("admin", "demo-admin")).access_token
            events, since = [], 0
            while (batch := await client.events(since, [Topic.ORDERS])).last_seq != since:
                events += batch.events
                since = batch.last_seq
        proofs = [e for e in events if e.kind == "order.proof" and e.role == "customer"]
        asked = {e.order_id for e in events if e.kind == "order.signature_requested"}
        # At least: a signature whose answer was lost is retried, and answered 409 (signed).
        assert len(proofs) >= stats.signatures
        assert {p.order_id for p in proofs} <= asked  # only where the rider asked
        assert_no_server_errors(server)
