"""The proposed handover at the desk, under Pilot against a real backend whose alert engine and
auto-handover loop run: the accident's proposal is on the queue at once, `2 h` in one burst
carries it out (the order moves to the proposed rider and resumes), and `U` gives it back."""

from __future__ import annotations

import pytest

from backend_client.models import (
    AlertRule,
    OrderState,
    TakeoverProposal,
    TakeoverState,
    TakeoverTrigger,
)
from console.app import FreshlineApp
from screens.exceptions import ExceptionsScreen
from tests.console.conftest import until
from tests.console.test_console_live import notes_of, text_of
from tests.console.test_exception_queue import SIZE, standing
from tests.console.test_incident_desk import an_accident
from tests.stream_support import Actors, LiveServer
from tests.support import eventually

pytestmark = pytest.mark.slow  # the console against a real backend with alerts


async def test_the_proposal_shows_at_once_h_carries_it_out_and_u_undoes_it(
    alerting: LiveServer, crew: Actors
) -> None:
    stopped = await an_accident(crew)
    desk = await crew("dispatcher")

    async def proposed() -> bool:
        return any(
            p.state == TakeoverState.PROPOSED and p.trigger == TakeoverTrigger.ACCIDENT
            for p in await desk.takeovers.all()
        )

    await eventually(proposed, "the backend's proposal", within=20)
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: standing(app, AlertRule.DELIVERY_EXCEPTION), "the accident")
        await pilot.press("2", "h")  # one burst: the key waits for the proposals to be read
        assert isinstance(app.screen, ExceptionsScreen)
        await until(
            pilot,
            lambda: (
                app.store.orders.get(stopped.id) is not None
                and app.store.orders[stopped.id].rider_id == 2
                and app.store.orders[stopped.id].status == OrderState.DELIVERING
            ),
            "the order with rider 2, resumed",
        )
        strip = app.screen.query_one("#takeovers")
        await until(pilot, lambda: "U undoes" in text_of(strip), "the handover line")
        assert "#" + str(stopped.id) in text_of(strip)
        assert any("Handed" in n for n in notes), notes

        await pilot.press("U")
        await until(
            pilot,
            lambda: (
                app.store.orders[stopped.id].rider_id == 1
                and app.store.orders[stopped.id].status == OrderState.EXCEPTION
            ),
            "the order back with rider 1, stopped",
        )
    # (Rider 1 had no fix yet when the order went out: a silence proposal came and went.)
    (undone,) = [p for p in await desk.takeovers.all() if p.trigger == TakeoverTrigger.ACCIDENT]
    assert undone.state == TakeoverState.UNDONE and undone.undone_by == "dispatcher"
    order = await desk.orders.get(stopped.id)
    assert (order.rider_id, order.status) == (1, OrderState.EXCEPTION)


async def test_shift_k_keeps_the_orders_with_their_rider(
    alerting: LiveServer, crew: Actors
) -> None:
    stopped = await an_accident(crew)
    desk = await crew("dispatcher")

    async def proposal() -> TakeoverProposal | None:
        for p in await desk.takeovers.all():
            if p.state == TakeoverState.PROPOSED and p.trigger == TakeoverTrigger.ACCIDENT:
                return p
        return None

    await eventually(proposal, "the backend's proposal", within=20)
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: standing(app, AlertRule.DELIVERY_EXCEPTION), "the accident")
        await pilot.press("2", "K")  # one burst
        await until(
            pilot,
            lambda: any(p.state == TakeoverState.DISMISSED for p in app.screen.takeovers),
            "the proposal dismissed",
        )
        assert "Handover proposed" not in text_of(app.screen.query_one("#takeovers"))
    (kept,) = [p for p in await desk.takeovers.all() if p.trigger == TakeoverTrigger.ACCIDENT]
    assert kept.state == TakeoverState.DISMISSED and kept.decided_by == "dispatcher"
    order = await desk.orders.get(stopped.id)
    assert (order.rider_id, order.status) == (1, OrderState.EXCEPTION)
