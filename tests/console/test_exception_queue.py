"""The exception queue under Pilot against a real backend whose alert engine runs: incidents
appear by themselves, every verb works by keyboard through REST, and refusals are explained."""

from __future__ import annotations

from textual.widgets import Label

from backend_client.models import (
    Alert,
    AlertRule,
    AlertState,
    ClaimItem,
    CustomerIn,
    OrderCreate,
    OrderItemIn,
    OrderState,
)
from console.app import FreshlineApp
from screens.dialogs import ChoiceDialog, ConfirmDialog, NoteDialog, ReasonDialog
from screens.exceptions import ExceptionsScreen
from screens.order_detail import OrderDetailScreen, event_words
from screens.reassign import ReassignDialog
from tests.console.conftest import until
from tests.console.test_console_live import notes_of, text_of
from tests.stream_support import Actors, LiveServer
from tests.support import customer
from widgets.alert_list import AlertList
from widgets.top_bar import TopBar

SIZE = (160, 48)


def standing(app: FreshlineApp, rule: AlertRule) -> list[Alert]:
    return [a for a in app.store.alerts.alerts.values() if a.rule == rule]


def dialog_text(app: FreshlineApp) -> str:
    """Every line the dialog on top shows."""
    return "\n".join(str(label.content) for label in app.screen.query(Label))


def queue(app: FreshlineApp) -> AlertList:
    return app.screen.query_one(AlertList)


async def to_the_queue(pilot, app: FreshlineApp, rule: AlertRule, count: int = 1) -> None:
    await until(pilot, lambda: len(standing(app, rule)) >= count, f"{count} {rule} alert(s)")
    await pilot.press("2")
    assert isinstance(app.screen, ExceptionsScreen)
    await until(pilot, lambda: len(queue(app).ids) >= count, "the queue drawn")


async def cursor_on(pilot, app: FreshlineApp, alert_id: int) -> None:
    """Down the queue by keyboard to the alert (the queue may grow meanwhile: new alerts)."""
    await pilot.press("home")
    for _ in range(50):
        await pilot.pause()
        if queue(app).current == alert_id:
            return
        if queue(app).cursor >= len(queue(app).ids) - 1:
            await pilot.press("home")
        else:
            await pilot.press("down")
    raise AssertionError(f"alert {alert_id} is not in the queue: {queue(app).ids}")


async def test_incidents_queue_up_and_are_acknowledged_snoozed_and_walked_by_keyboard(
    alerting: LiveServer, crew: Actors
) -> None:
    short = [await crew.paid() for _ in range(3)]
    merchant = await crew("merchant-wh-cy")
    for order in short:
        await merchant.orders.transition(
            order.id, "report_out_of_stock", order.version, reason="wilted"
        )
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.OUT_OF_STOCK, 3)
        tabs = text_of(app.screen.query_one(TopBar).query_one("#title"))
        assert "2 Exceptions 3" in tabs
        detail = text_of(app.screen.query_one("#detail"))
        assert "out of stock" in detail and "wilted" in detail

        # a: acknowledge with a note; the stream brings the new state back.
        first = queue(app).current
        await pilot.press("a")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"restock due 14:00", "enter")
        await until(
            pilot,
            lambda: app.store.alerts.alerts[first].state == AlertState.ACKNOWLEDGED,
            "the acknowledgement",
        )
        assert app.store.alerts.alerts[first].note == "restock due 14:00"
        assert "Acknowledge: alert" in notes[-1]

        # n: the next alert nobody has taken on; f: faults only hides the handled one.
        await pilot.press("home", "n")
        assert app.store.alerts.alerts[queue(app).current].state == AlertState.OPEN
        await pilot.press("f")
        await until(pilot, lambda: first not in queue(app).ids, "faults only")
        assert len(queue(app).ids) == 2
        await pilot.press("f")
        await until(pilot, lambda: first in queue(app).ids, "everything again")

        # space marks two; s snoozes both for 15 minutes.
        others = [i for i in queue(app).ids if i != first]
        await cursor_on(pilot, app, others[0])
        await pilot.press("space")
        await cursor_on(pilot, app, others[1])
        await pilot.press("space")
        assert app.screen.marks == set(others)
        await pilot.press("s")  # two at once: it asks first, naming both
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "Snooze all 2 marked alerts?" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the choices")
        await pilot.press("enter")  # 15 minutes, the first choice
        await until(
            pilot,
            lambda: all(app.store.alerts.alerts[i].state == AlertState.SNOOZED for i in others),
            "both snoozed",
        )
        assert app.screen.marks == set()

        # A stale version is explained, not hidden: someone else took the last one meanwhile.
        support = await crew("support")
        held = app.store.alerts.alerts[others[0]]
        app.store.alerts.alerts[others[0]] = held.model_copy(update={"version": 1})
        await cursor_on(pilot, app, others[0])
        await support.alerts.acknowledge(others[0], held.version, note="mine")
        await pilot.press("a")
        await pilot.press("enter")
        await until(pilot, lambda: "conflict" in notes[-1], "the refusal")
        assert "support" in notes[-1]


async def test_returns_and_claims_are_decided_from_the_queue(
    alerting: LiveServer, crew: Actors
) -> None:
    await crew.online(1)
    channel, dispatcher, rider = (
        await crew("channel-app"),
        await crew("dispatcher"),
        await crew("rider-1"),
    )
    salmon = OrderCreate(  # 5 x 69.90: a claim bigger than support's 200.00
        external_id="BIG-CLAIM",
        customer=CustomerIn(**customer()),
        items=[OrderItemIn(sku="SEA-SALMON", quantity=5)],
        warehouse_id="WH-CY",
    )
    orders = []
    for made in (await crew.create(), await crew.create(), await channel.orders.create(salmon)):
        order = await channel.orders.transition(made.id, "pay", made.version)
        order = await dispatcher.orders.transition(order.id, "start_picking", order.version)
        order = await crew.assign(order, 1)
        orders.append(await rider.orders.transition(order.id, "dispatch", order.version))
    refused = await rider.orders.open_return(orders[0].id, orders[0].version, "customer refused")
    second = await rider.orders.open_return(orders[1].id, orders[1].version, "customer not home")
    big = await rider.orders.open_claim(
        orders[2].id,
        orders[2].version,
        "eggs broken",
        [ClaimItem(sku=orders[2].items[0].sku, quantity=1)],
        orders[2].amount_cents,
    )
    assert refused.state == "pending" and big.kind == "claim"
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("support"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.RETURN_REQUESTED, 2)
        await until(pilot, lambda: standing(app, AlertRule.CLAIM_REQUESTED), "the claim")
        by_request = {a.request_id: a.id for a in app.store.alerts.alerts.values()}

        # p approves the return: the order goes back to the warehouse.
        await cursor_on(pilot, app, by_request[refused.id])
        await pilot.press("p", "y")  # it asks first; y says yes
        await until(pilot, lambda: by_request[refused.id] not in app.store.alerts.alerts, "done")
        assert (await rider.orders.get(orders[0].id)).status == OrderState.RETURNING

        # x rejects, and a reason is required.
        await cursor_on(pilot, app, by_request[second.id])
        await pilot.press("x")
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press("enter")  # empty: refused, the dialog stays
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press(*"customer reachable again", "enter")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await until(pilot, lambda: "Reject: request" in notes[-1], "the rejection")
        assert (await (await crew("support")).requests.get(second.id)).state == "rejected"

        # The claim is above what support may approve: the server says so, nothing changes.
        await until(pilot, lambda: by_request[big.id] in queue(app).ids, "the claim queued")
        await cursor_on(pilot, app, by_request[big.id])
        assert big.amount_cents > 20_000
        await pilot.press("p", "y")
        await until(pilot, lambda: "denied" in notes[-1], "the refusal")
        assert "200.00" in notes[-1]
        assert (await rider.orders.get(orders[2].id)).status == OrderState.EXCEPTION


async def test_reassigning_an_order_and_handing_over_a_silent_riders_orders(
    alerting: LiveServer, crew: Actors
) -> None:
    await crew.online(1, 2, 4)
    rider_1 = await crew("rider-1")
    carried = []
    for _ in range(2):
        picked = await crew.assign(await crew.picking(), 1)
        carried.append(await rider_1.orders.transition(picked.id, "dispatch", picked.version))
    crash = carried[0]
    await rider_1.orders.transition(
        crash.id, "report_exception", crash.version, reason="scooter crash"
    )
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        # Rider 1 has no fix at all and carries orders: GPS silent; the crash: an exception.
        await to_the_queue(pilot, app, AlertRule.DELIVERY_EXCEPTION)
        await until(pilot, lambda: standing(app, AlertRule.GPS_SILENT), "the silent rider")
        exception = standing(app, AlertRule.DELIVERY_EXCEPTION)[0]

        # r on the crashed order: suggestions with their ETA, then a confirmation.
        await cursor_on(pilot, app, exception.id)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReassignDialog), "the suggestions")
        await pilot.press("enter")  # the best one
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        dispatcher = await crew("dispatcher")

        async def moved() -> bool:
            return (await dispatcher.orders.get(crash.id)).rider_id != 1

        await until(pilot, lambda: crash.rider_id != app.store.orders[crash.id].rider_id, "moved")
        assert await moved()

        # r on the silent rider: everything they still carry goes to one rider with room.
        silent = standing(app, AlertRule.GPS_SILENT)[0]
        await cursor_on(pilot, app, silent.id)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReassignDialog), "the takers")
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await until(
            pilot, lambda: app.store.orders[carried[1].id].rider_id not in (None, 1), "handover"
        )
        assert (await dispatcher.orders.get(carried[1].id)).rider_id in (2, 4)


async def test_a_viewer_sees_the_queue_with_its_verbs_dimmed_and_told_why(
    alerting: LiveServer, crew: Actors
) -> None:
    order = await crew.paid()
    merchant = await crew("merchant-wh-cy")
    await merchant.orders.transition(
        order.id, "report_out_of_stock", order.version, reason="none left"
    )
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("viewer"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.OUT_OF_STOCK)
        for key in ("a", "s", "p", "x", "r"):
            await pilot.press(key)
            assert isinstance(app.screen, ExceptionsScreen), key
            assert "not allowed" in notes[-1], (key, notes[-1])
        assert app.store.alerts.alerts[queue(app).current].state == AlertState.OPEN
        await pilot.press("enter")  # opening the order is reading: allowed
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        await until(pilot, lambda: len(detail.events) >= 4, "the timeline")
        words = [event_words(e, app.store) for e in detail.events]
        assert "alert out of stock: opened" in words, words
