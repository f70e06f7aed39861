"""The simulator plays the rider a dispatcher gives an order stopped by an accident: with no
desk played (people at consoles answer incidents), a dispatcher reassigns and resumes it in
one request, and the new rider rides to the accident site, collects the goods there and
delivers them. Before, the new rider never moved and the order stayed stuck."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.sim import demand
from backend.sim.runner import SimConfig, Simulator
from backend_client import FreshlineClient
from backend_client.models import Order, OrderState
from tests.backend.test_simulator import assert_no_server_errors, demo_server
from tests.support import eventually

pytestmark = pytest.mark.slow  # a simulated city played through

SPEED = 60.0


async def test_the_rider_given_an_order_stopped_by_an_accident_collects_it_and_delivers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demand, "TRAFFIC_ACCIDENT", 1.0)  # every order meets one on the way
    monkeypatch.setattr(demand, "CUSTOMER_REFUSES", 0.0)  # and is signed at the door
    monkeypatch.setattr(demand, "GOODS_DAMAGED", 0.0)
    with demo_server(tmp_path, speed=SPEED) as server:
        simulator = Simulator(
            SimConfig(
                server=server.base_url,
                seed=11,
                orders_per_hour=40,
                flat=True,
                desk=False,
                speed=SPEED,
            )
        )
        run = asyncio.create_task(simulator.run())
        try:
            async with FreshlineClient(server.base_url) as desk:
                desk.token = (await desk.login("dispatcher", "demo-dispatcher")).access_token
                stopped: list[Order] = []

                async def an_accident() -> bool:
                    assert not run.done(), run
                    page = await desk.orders.page(status=[OrderState.EXCEPTION])
                    stopped[:] = [o for o in page.items if o.rider_id is not None]
                    return bool(stopped)

                await eventually(an_accident, "an order stopped by an accident", within=240)
                order = stopped[0]
                before = order.rider_id
                (best, *_) = await desk.orders.rider_suggestions(order.id)
                moved = await desk.orders.assign(
                    order.id, best.rider.id, order.version, resume=True
                )
                assert moved.status == OrderState.DELIVERING and moved.rider_id == best.rider.id

                async def signed() -> bool:
                    assert not run.done(), run
                    status = (await desk.orders.get(order.id)).status
                    assert status != OrderState.EXCEPTION, "stopped again: the accident twice"
                    return status == OrderState.SIGNED

                await eventually(signed, "the new rider delivering it", within=240)
                story = await desk.orders.timeline(order.id)
                kinds = [(e.kind, e.rider_id) for e in story]
                # Collected at the accident site by the new rider, then delivered by them.
                assert ("order.collected", best.rider.id) in kinds, kinds
                (delivered,) = [
                    e
                    for e in story
                    if e.kind == "order.transition"
                    and e.from_state == OrderState.DELIVERING
                    and e.payload["version"] > moved.version
                ]
                assert delivered.to_state == OrderState.SIGNED, delivered
                assert delivered.rider_id == best.rider.id != before, delivered
                # At the door the customer signed on their tracking page, or read out the
                # PIN to the rider; the signing cites that proof.
                (proved,) = [e for e in story if e.kind == "order.proof"]
                kind = proved.payload["proof"]["kind"]
                taken_by = {"pin": f"rider-{best.rider.id}", "signature": "customer"}
                assert proved.payload["proof"]["taken_by"] == taken_by[kind], proved.payload
                assert [p["kind"] for p in delivered.payload["proofs"]] == [kind]
        finally:
            simulator.stop()
            await run
        assert_no_server_errors(server)
