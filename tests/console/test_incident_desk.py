"""Trust at the desk, under Pilot against a real backend whose alert engine runs: nothing
irreversible on one key (money, many at once and final states ask first, naming what and how
much, and only `y` says yes), an accident handled in four keys and seen resolved, and one
incident one row. Keys go in bursts, as a fast typist sends them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.app import App

from backend_client.models import (
    AlertRule,
    AlertState,
    ClaimItem,
    CustomerIn,
    OrderCreate,
    OrderItemIn,
    OrderState,
    RequestState,
)
from console.app import FreshlineApp
from screens.dialogs import ActionPicker, ConfirmDialog
from screens.exceptions import ExceptionsScreen
from screens.order_detail import OrderDetailScreen
from screens.reassign import ReassignDialog
from tests.console.conftest import until
from tests.console.test_console_live import notes_of, text_of
from tests.console.test_exception_queue import (
    SIZE,
    cursor_on,
    dialog_text,
    queue,
    standing,
    to_the_queue,
)
from tests.stream_support import Actors, LiveServer
from tests.support import customer

WH_CY = (39.9334, 116.455)


def north(metres: float) -> tuple[float, float]:
    return (WH_CY[0] + metres / 111_195, WH_CY[1])


def held(app: FreshlineApp) -> set[int]:
    return set(app.store.alerts.alerts)


async def out_for_delivery(crew: Actors, rider_id: int, promise_s: float | None = None):
    """A WH-CY order picked, given to the rider and taken out by them."""
    channel, dispatcher = await crew("channel-app"), await crew("dispatcher")
    request = OrderCreate(
        external_id=f"INC-{rider_id}-{promise_s}",
        customer=CustomerIn(**customer(lat=north(4_000)[0], lng=north(4_000)[1])),
        items=[OrderItemIn(sku="VEG-BOKCHOY", quantity=1)],
        warehouse_id="WH-CY",
    )
    if promise_s is not None:
        now = (await dispatcher.health()).time
        request.promised_at = now + timedelta(seconds=promise_s)
    order = await channel.orders.create(request)
    order = await channel.orders.transition(order.id, "pay", order.version)
    order = await dispatcher.orders.transition(order.id, "start_picking", order.version)
    order = await crew.assign(order, rider_id)
    rider = await crew(f"rider-{rider_id}")
    return await rider.orders.transition(order.id, "dispatch", order.version)


async def an_accident(crew: Actors, promise_s: float | None = None):
    """Rider 1 is 2 km out with the order and reports an accident; rider 2 is free, nearby."""
    await crew.online(1, 2)
    now = (await (await crew("dispatcher")).health()).time
    order = await out_for_delivery(crew, 1, promise_s)
    await crew.position(1, *north(2_000), now)
    await crew.position(2, *north(1_000), now)
    rider = await crew("rider-1")
    return await rider.orders.transition(
        order.id, "report_exception", order.version, reason="traffic accident, rider hurt"
    )


async def test_an_accident_is_handled_in_four_keys_and_seen_resolved(
    alerting: LiveServer, crew: Actors
) -> None:
    stopped = await an_accident(crew)
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: standing(app, AlertRule.DELIVERY_EXCEPTION), "the accident")
        await until(pilot, lambda: stopped.id in app.store.orders, "the order on the board")
        (alert,) = standing(app, AlertRule.DELIVERY_EXCEPTION)

        await pilot.press("2", "r", "enter", "y")  # one burst

        # Seen resolved: the alert leaves the queue, the order moves again with rider 2.
        await until(pilot, lambda: alert.id not in app.store.alerts.alerts, "the alert closed")
        card = app.store.orders[stopped.id]
        await until(
            pilot,
            lambda: app.store.orders[stopped.id].status == OrderState.DELIVERING,
            "the order resumed",
        )
        card = app.store.orders[stopped.id]
        assert card.rider_id == 2
        # Rider 2's ETA at once (via the accident site), not at their next fix.
        await until(pilot, lambda: app.store.orders[stopped.id].eta is not None, "the new ETA")
        assert any("Reassign to" in n and "and resume" in n for n in notes), notes
        assert isinstance(app.screen, ExceptionsScreen)
    dispatcher = await crew("dispatcher")
    order = await dispatcher.orders.get(stopped.id)
    assert (order.status, order.rider_id) == (OrderState.DELIVERING, 2)
    (closed,) = await dispatcher.alerts.all(order_id=stopped.id, state=[AlertState.RESOLVED])
    assert closed.resolution and "reassigned to" in closed.resolution
    # Rider 2's route goes via the accident site first.
    (stop,) = (await (await crew("rider-2")).riders.route(2)).stops
    assert stop.pickup_lat is not None and abs(stop.pickup_lat - north(2_000)[0]) < 1e-6


async def test_an_orders_alerts_are_one_row_that_names_the_next_step(
    alerting: LiveServer, crew: Actors
) -> None:
    stopped = await an_accident(crew, promise_s=8)  # soon overdue as well
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.DELIVERY_EXCEPTION)
        await until(
            pilot, lambda: standing(app, AlertRule.DELIVERY_OVERDUE), "overdue too", within=60
        )
        (incident,) = standing(app, AlertRule.DELIVERY_EXCEPTION)
        (late,) = standing(app, AlertRule.DELIVERY_OVERDUE)
        await until(
            pilot,
            lambda: app.store.alerts.alerts[late.id].parent_id == incident.id,
            "the overdue alert under the incident",
        )
        ids = queue(app).ids
        assert incident.id in ids and late.id not in ids, ids
        await cursor_on(pilot, app, incident.id)
        await until(pilot, lambda: "grouped" in text_of(app.screen.query_one("#detail")), "drawn")
        detail = text_of(app.screen.query_one("#detail"))
        assert "overdue" in detail
        assert "r gives the order to another rider and resumes" in detail, detail
    assert stopped.status == OrderState.EXCEPTION


async def test_money_and_many_at_once_ask_first_and_only_y_says_yes(
    alerting: LiveServer, crew: Actors
) -> None:
    await crew.online(1, 2)
    first = await out_for_delivery(crew, 1)
    second = await out_for_delivery(crew, 2)
    claim = await (await crew("rider-1")).orders.open_claim(
        first.id,
        first.version,
        "eggs broken",
        [ClaimItem(sku=first.items[0].sku, quantity=1)],
        first.items[0].unit_price_cents,
    )
    refused = await (await crew("rider-2")).orders.open_return(second.id, second.version, "refused")
    support = await crew("support")
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("support"))
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.CLAIM_REQUESTED)
        await until(pilot, lambda: standing(app, AlertRule.RETURN_REQUESTED), "the return")
        await until(pilot, lambda: first.id in app.store.orders, "the order held")
        by_request = {a.request_id: a.id for a in app.store.alerts.alerts.values()}

        # p on the claim: a question naming what, how much, for whom. Enter is not yes.
        await cursor_on(pilot, app, by_request[claim.id])
        await pilot.press("p", "enter")
        assert isinstance(app.screen, ConfirmDialog)
        amount = f"{claim.amount_cents / 100:.2f} yuan"
        question = dialog_text(app)
        assert (
            f"Approve the claim of {amount} for order {first.id}, {first.customer.name}?"
            in question
        ), question
        assert "cannot be undone" in question
        await pilot.press("n")
        assert isinstance(app.screen, ExceptionsScreen)
        assert (await support.requests.get(claim.id)).state == RequestState.PENDING

        # Both marked: one question listing both, with the money in all; y approves both.
        await pilot.press("space")
        await cursor_on(pilot, app, by_request[refused.id])
        await pilot.press("space", "p")
        assert isinstance(app.screen, ConfirmDialog)
        question = dialog_text(app)
        assert f"Approve all 2 marked requests (1 claims, {amount} in all)?" in question
        assert f"the return of order {second.id}, {second.customer.name}" in question
        assert (await support.requests.get(refused.id)).state == RequestState.PENDING
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                not {by_request[claim.id], by_request[refused.id]} & app.store.alerts.alerts.keys()
            ),
            "both decided",
        )
    assert (await support.requests.get(claim.id)).state == RequestState.APPROVED
    assert (await support.requests.get(refused.id)).state == RequestState.APPROVED


async def test_a_final_state_asks_first(alerting: LiveServer, crew: Actors) -> None:
    await crew.online(1)
    order = await out_for_delivery(crew, 1)
    dispatcher = await crew("dispatcher")
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: order.id in app.store.orders, "the order held")
        app.open_order(order.id)
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        await until(pilot, lambda: detail.order is not None, "the order read")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ActionPicker), "the actions")
        await pilot.press("enter", "enter")  # "Signed by the customer", then a stray enter
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        question = dialog_text(app)
        assert f"Signed by the customer: order {order.id} for {order.customer.name}?" in question
        assert "cannot be undone" in question
        assert (await dispatcher.orders.get(order.id)).status == OrderState.DELIVERING
        await pilot.press("y")
        await until(pilot, lambda: app.store.orders[order.id].status == OrderState.SIGNED, "signed")


async def test_keys_typed_while_the_riders_load_go_to_the_dialog_in_order() -> None:
    """`r enter y` faster than the suggestions arrive: enter and y wait for them, then choose
    the best rider and say yes to the question, in that order; nothing acts before."""
    arrived = asyncio.Event()
    answers: list[object] = []

    async def load() -> tuple[str, list[tuple[int, str]]]:
        await arrived.wait()
        return "Order 43 for Li Ting: to whom?", [(7, "Wang Wei 1.0 km"), (9, "Zhao Lei 2.0 km")]

    def confirm(rider_id: int) -> ConfirmDialog:
        return ConfirmDialog(f"Give order 43 to rider {rider_id}?", yes="reassign")

    class Desk(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ReassignDialog("Order 43: to whom?", load, confirm), answers.append)

    app = Desk()
    async with app.run_test() as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReassignDialog), "the dialog")
        dialog = app.screen
        await pilot.press("enter", "y")
        assert app.screen is dialog and not answers  # waiting for the riders, keys kept
        assert isinstance(dialog, ReassignDialog) and dialog.typed == ["enter", "y"]
        arrived.set()
        await until(pilot, lambda: answers, "the answer")
        assert answers == [7]
        assert not isinstance(app.screen, ConfirmDialog | ReassignDialog)


async def test_a_rejection_is_taken_back_with_z_an_approval_is_not(
    alerting: LiveServer, crew: Actors
) -> None:
    await crew.online(1, 2)
    first = await out_for_delivery(crew, 1)
    second = await out_for_delivery(crew, 2)
    refused = await (await crew("rider-1")).orders.open_return(first.id, first.version, "refused")
    other = await (await crew("rider-2")).orders.open_return(second.id, second.version, "not home")
    support = await crew("support")
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("support"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.RETURN_REQUESTED, 2)
        by_request = {a.request_id: a.id for a in app.store.alerts.alerts.values()}

        # Nothing rejected yet: z says what can be taken back.
        await pilot.press("z")
        assert "Nothing to take back" in notes[-1]

        # x, a reason, the question says z takes it back; y rejects.
        await cursor_on(pilot, app, by_request[refused.id])
        await pilot.press("x", *"customer reachable", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "z takes a rejection back" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: "Reject: request" in notes[-1], "the rejection")
        assert (await support.requests.get(refused.id)).state == RequestState.REJECTED

        # z, y: it waits for a decision again.
        await pilot.press("z")
        assert isinstance(app.screen, ConfirmDialog)
        assert f"Take back the rejection of the return of order {first.id}" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: "Take back the rejection" in notes[-1], "taken back")
        assert "done" in notes[-1], notes[-1]
        assert (await support.requests.get(refused.id)).state == RequestState.PENDING

        # An approval says plainly it cannot be undone, and z has nothing to take back.
        await cursor_on(pilot, app, by_request[other.id])
        await pilot.press("p")
        assert "cannot be undone" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: by_request[other.id] not in app.store.alerts.alerts, "done")
        await pilot.press("z")
        assert "Nothing to take back" in notes[-1]
