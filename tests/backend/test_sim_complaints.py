"""The simulator's customers complain through the public API (half through their platform's
refund, which the gateway turns into a complaint, half by calling support), more often the later
their order came, and its support desk resolves them; the complaint KPI counts them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.sim import complaints
from backend.sim.runner import SimConfig, Simulator
from backend_client import FreshlineClient
from backend_client.models import RequestKind, RequestState
from tests.backend.test_simulator import assert_no_server_errors, demo_server
from tests.support import eventually

SPEED = 60.0


def test_a_late_order_draws_more_complaints_the_later_it_came() -> None:
    chances = [complaints.complaint_chance(m) for m in (-10, 0, 1, 10, 30, 120)]
    assert chances[0] == chances[1] == complaints.ON_TIME_CHANCE
    assert chances[1] < chances[2] < chances[3] < chances[4] <= chances[5]
    assert chances[5] == complaints.LATE_CHANCE_MAX


@pytest.mark.slow  # a simulated city played through
async def test_the_simulated_customers_complain_and_support_resolves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every delivered order draws a complaint, so a short run shows both paths.
    monkeypatch.setattr(complaints, "ON_TIME_CHANCE", 1.0)
    monkeypatch.setattr(complaints, "LATE_CHANCE", 1.0)
    monkeypatch.setattr(complaints, "LATE_CHANCE_MAX", 1.0)
    with demo_server(tmp_path, speed=SPEED) as server:
        simulator = Simulator(
            SimConfig(server=server.base_url, seed=5, orders_per_hour=60, flat=True, speed=SPEED)
        )
        run = asyncio.create_task(simulator.run())
        try:
            async with FreshlineClient(server.base_url) as desk:
                desk.token = (await desk.login("supervisor", "demo-supervisor")).access_token

                async def both_paths_resolved() -> bool:
                    assert not run.done(), run
                    made = await desk.requests.all(kind=RequestKind.COMPLAINT)
                    resolved = [c for c in made if c.state == RequestState.RESOLVED]
                    by_gateway = [c for c in resolved if c.opened_by.endswith("-gateway")]
                    by_support = [c for c in resolved if c.opened_by == "support"]
                    return bool(by_gateway and by_support)

                await eventually(both_paths_resolved, "complaints of both kinds resolved", 300)
                made = await desk.requests.all(kind=RequestKind.COMPLAINT)
                assert all(c.category is not None for c in made)
                for complaint in made:
                    if complaint.state == RequestState.RESOLVED:
                        assert complaint.outcome is not None
                summary = await desk.kpi.summary()
                assert summary.complaints is not None
                assert summary.complaints.complaints == len(made)
                assert summary.complaints.resolved == sum(
                    c.state == RequestState.RESOLVED for c in made
                )
        finally:
            simulator.stop()
            await run
        assert simulator.stats.actions["complain"] >= 2, simulator.stats.actions
        assert simulator.stats.errors == 0, simulator.stats.summary()
        assert_no_server_errors(server)
