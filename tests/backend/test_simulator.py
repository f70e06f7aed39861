"""The simulator against a real `freshline serve --demo` on a simulated clock: repeatable by
seed, and a few simulated hours at high speed reach every lifecycle state through the API."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from backend.sim.demand import BEIJING
from backend.sim.runner import SimConfig, Simulator, SimulatorError
from backend_client import FreshlineClient
from backend_client.models import Order, OrderState, Topic
from tests.servers import LOG, Server, running, serving

pytestmark = [pytest.mark.slow, pytest.mark.long(45)]  # whole simulated cities

START = datetime(2026, 11, 22, 11, 0, tzinfo=BEIJING)


def simulated_clock(speed: float, **extra: str) -> dict[str, str]:
    """Environment for a demo backend whose clock reads START now and runs `speed` times
    faster, with auto-dispatch on (the simulator's riders wait for it)."""
    return {
        "FRESHLINE_CLOCK_SPEED": str(speed),
        "FRESHLINE_CLOCK_START": START.isoformat(),
        "FRESHLINE_CLOCK_EPOCH": repr(time.time()),
        "FRESHLINE_AUTO_DISPATCH": "true",
        "FRESHLINE_AUTO_DISPATCH_SECONDS": "1",
        **extra,
    }


def demo_server(tmp_path: Path, speed: float, name: str = ""):
    db = tmp_path / f"{name or 'demo'}.db"
    return serving(
        tmp_path,
        "--demo",
        "--database-url",
        f"sqlite+aiosqlite:///{db}",
        name=name,
        env=simulated_clock(speed),
    )


async def every_order(server: Server) -> list[Order]:
    async with FreshlineClient(server.base_url) as client:
        client.token = (await client.login("admin", "demo-admin")).access_token
        return [order async for order in client.orders.every()]


async def states_reached(server: Server) -> set[str]:
    """Every state any order entered, from the event log."""
    reached: set[str] = set()
    async with FreshlineClient(server.base_url) as client:
        client.token = (await client.login("admin", "demo-admin")).access_token
        since = 0
        while True:
            batch = await client.events(since, [Topic.ORDERS])
            reached |= {
                e.to_state for e in batch.events if e.to_state and e.kind.startswith("order.")
            }
            if batch.last_seq == since:
                return reached
            since = batch.last_seq


def assert_no_server_errors(server: Server) -> None:
    log = server.read(LOG)
    # The log is JSON lines (`"status": 500` on the access line) unless told otherwise.
    assert '"status": 500' not in log and " 500 " not in log, server.output()
    assert "Traceback" not in log, server.output()


@pytest.mark.serial  # 240x on two cores: alone, or the machine's lag shows as late orders
async def test_a_few_simulated_hours_reach_every_state(tmp_path: Path) -> None:
    with demo_server(tmp_path, speed=240) as server:
        simulator = Simulator(
            SimConfig(
                server=server.base_url,
                seed=7,
                orders_per_hour=90,
                trouble=6,
                duration=40,  # 40 s at 240x: about 2 h 40 min of simulated time
                riders=40,  # 16 more than the city's, registered and relayed as a fleet
                speed=240,
            )
        )
        stats = await simulator.run()

        assert stats.errors == 0, stats.summary()
        assert stats.orders >= 100, stats.summary()
        # Refusals and damage went through returns and claims, approved at the desk.
        assert stats.actions["open_return"] and stats.actions["open_claim"], stats.actions
        assert stats.actions["approve"] >= 2, stats.actions
        reached = await states_reached(server)
        assert reached == {str(s) for s in OrderState}, sorted(reached)
        # The registered riders exist and moved through the fleet relay.
        async with FreshlineClient(server.base_url) as client:
            client.token = (await client.login("admin", "demo-admin")).access_token
            riders = await client.riders.all()
        assert len(riders) == 40
        assert all(r.last_fix_at is not None for r in riders)
        # Orders were given to riders by auto-dispatch, and capacity held throughout.
        assert all(r.active_orders <= r.capacity for r in riders)
        assert_no_server_errors(server)


async def test_the_same_seed_places_the_same_orders(tmp_path: Path) -> None:
    """Two fresh backends on the same simulated day: the orders both runs placed are the same
    orders (order n of the day is always the same), whenever each run happened to start."""

    async def run(name: str) -> dict[str, tuple[Any, ...]]:
        db = tmp_path / f"{name}.db"
        args = ("--demo", "--database-url", f"sqlite+aiosqlite:///{db}")
        with running(tmp_path, *args, name=name, env=simulated_clock(120)) as server:
            await asyncio.to_thread(server.wait_healthy)
            config = SimConfig(
                server=server.base_url, seed=3, orders_per_hour=150, duration=12, trouble=3
            )
            await Simulator(config).run()
            orders = await every_order(server)
            assert_no_server_errors(server)
        return {
            o.external_id: (
                o.channel,
                o.customer.name,
                o.customer.phone,
                o.address,
                [(i.sku, i.quantity) for i in o.items],
                o.promised_at,  # the plan's arrival plus its promise: no request timing in it
            )
            for o in orders
        }

    first, second = await asyncio.gather(run("first"), run("second"))
    both = first.keys() & second.keys()
    assert len(both) >= 15, (sorted(first), sorted(second))
    for external_id in both:
        assert first[external_id] == second[external_id], external_id
    # Each run placed a contiguous stretch of the day's orders: nothing in between went missing
    # (the newest ones, about five seconds' worth, may have been in flight when the run stopped).
    for placed in (first, second):
        numbers = sorted(int(external_id.rsplit("-", 1)[1]) for external_id in placed)
        settled = [n for n in numbers if n < numbers[-1] - 25]
        assert settled == list(range(numbers[0], numbers[0] + len(settled)))


async def test_the_simulator_refuses_a_backend_on_another_clock(tmp_path: Path) -> None:
    with (
        demo_server(tmp_path, speed=60) as server,
        pytest.raises(SimulatorError, match="runs at 60x, not 1x"),
    ):
        await Simulator(SimConfig(server=server.base_url, speed=1, duration=1)).run()


async def test_riders_vehicles_report_temperature_and_humidity(tmp_path: Path) -> None:
    with demo_server(tmp_path, speed=120) as server:
        config = SimConfig(server=server.base_url, seed=11, orders_per_hour=150, duration=20)
        stats = await Simulator(config).run()
        assert stats.errors == 0, stats.summary()
        async with FreshlineClient(server.base_url) as client:
            client.token = (await client.login("supervisor", "demo-supervisor")).access_token
            now = (await client.health()).time
            summary = await client.kpi.summary(start=START, end=now)
        sensors = summary.sensors
        assert sensors is not None and sensors.humidity_readings > 0, summary
        assert sensors.celsius_readings == sensors.humidity_readings  # both in every reading
        assert sensors.humidity_avg is not None and 80 < sensors.humidity_avg < 95
        assert_no_server_errors(server)
