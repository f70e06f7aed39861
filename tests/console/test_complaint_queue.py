"""Complaints in the exception queue under Pilot against a real backend whose alert engine
runs: a complaint queues up like any request, support resolves it by keyboard (`o`, the outcome,
the amount, a note, `y`), the order stays where it was; and the KPI screen's complaint line."""

from __future__ import annotations

import pytest

from backend_client.models import (
    AlertRule,
    ComplaintCategory,
    ComplaintKpis,
    ComplaintOutcome,
    ComplaintRate,
    OrderState,
)
from console.app import FreshlineApp
from console.complaint_words import kpi_complaint_line
from screens.complaint_actions import AmountDialog, cents_of
from screens.dialogs import ChoiceDialog, ConfirmDialog, NoteDialog
from screens.kpi import KpiScreen
from tests.console.conftest import until
from tests.console.test_console_live import notes_of
from tests.console.test_exception_queue import (
    SIZE,
    cursor_on,
    dialog_text,
    queue,
    standing,
    to_the_queue,
)
from tests.console.test_kpi_screen import kpi_app
from tests.stream_support import Actors, LiveServer
from widgets.live_text import LiveText

pytestmark = pytest.mark.slow  # the console against a real backend with alerts


async def test_support_resolves_complaints_from_the_queue_by_keyboard(
    alerting: LiveServer, crew: Actors
) -> None:
    await crew.online(1)
    rider = await crew("rider-1")
    order = await crew.assign(await crew.picking(), 1)
    order = await rider.orders.transition(order.id, "dispatch", order.version)
    support = await crew("support")
    late = await support.orders.open_complaint(order.id, ComplaintCategory.LATE, "40 min late")
    rude = await support.orders.open_complaint(
        order.id, ComplaintCategory.RIDER_CONDUCT, "rider shouted"
    )
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("support"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.COMPLAINT_OPENED, 2)
        by_request = {a.request_id: a.id for a in standing(app, AlertRule.COMPLAINT_OPENED)}

        # p on a complaint: nothing to approve; it says so and sends nothing.
        await cursor_on(pilot, app, by_request[late.id])
        await pilot.press("p")
        await until(pilot, lambda: "no return or claim" in notes[-1], "the hint")

        # o: a voucher of 5.50 with a note, confirmed with y.
        await pilot.press("o")
        assert isinstance(app.screen, ChoiceDialog)
        assert "late complaint about order" in dialog_text(app)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, AmountDialog), "the amount")
        await pilot.press(*"abc", "enter")  # no amount: it stays, and says why
        await until(pilot, lambda: "above 0" in notes[-1], "the refusal")
        assert isinstance(app.screen, AmountDialog)
        await pilot.press(*["backspace"] * 3, *"5.50", "enter", *"sorry for the wait", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "voucher of 5.50" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: by_request[late.id] not in queue(app).ids, "resolved")
        resolved = await support.requests.get(late.id)
        assert (resolved.state, resolved.outcome, resolved.outcome_cents) == (
            "resolved",
            ComplaintOutcome.VOUCHER,
            550,
        )
        assert resolved.decision_reason == "sorry for the wait"

        # o on the other: an apology, no money, a note left empty.
        await cursor_on(pilot, app, by_request[rude.id])
        await pilot.press("o", "enter")  # the first choice: apology
        await until(pilot, lambda: isinstance(app.screen, NoteDialog), "the note")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "an apology" in dialog_text(app)
        await pilot.press("y")
        await until(pilot, lambda: by_request[rude.id] not in queue(app).ids, "resolved")
        assert (await support.requests.get(rude.id)).outcome == ComplaintOutcome.APOLOGY

    now = await rider.orders.get(order.id)
    assert (now.status, now.version) == (OrderState.DELIVERING, order.version)


async def test_a_viewer_sees_the_key_dimmed_and_why(alerting: LiveServer, crew: Actors) -> None:
    await crew.online(1)
    rider = await crew("rider-1")
    order = await crew.assign(await crew.picking(), 1)
    order = await rider.orders.transition(order.id, "dispatch", order.version)
    await (await crew("support")).orders.open_complaint(
        order.id, ComplaintCategory.QUALITY, "wilted"
    )
    app = FreshlineApp(server=alerting.base_url, token=await crew.token("viewer"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await to_the_queue(pilot, app, AlertRule.COMPLAINT_OPENED)
        await pilot.press("o")
        await until(pilot, lambda: notes and "resolved by support" in notes[-1], "the reason")
        assert not isinstance(app.screen, ChoiceDialog)


def test_amounts_are_typed_in_yuan() -> None:
    assert cents_of("5") == 500
    assert cents_of(" 12.5 ") == 1250
    assert cents_of("0.015") == 2
    for bad in ("", "abc", "0", "-3", "nan", "inf", "1e9"):
        assert cents_of(bad) is None, bad


def _rate(key: str, complaints: int, delivered: int) -> ComplaintRate:
    return ComplaintRate(
        key=key,
        complaints=complaints,
        delivered=delivered,
        per_100_delivered=100 * complaints / delivered if delivered else None,
    )


def test_the_complaint_line_reads_without_colour() -> None:
    figures = ComplaintKpis(
        complaints=5,
        resolved=2,
        delivered=300,
        per_100_delivered=100 * 5 / 300,
        previous_per_100_delivered=2.1,
        by_channel=[_rate("app", 1, 200), _rate("meituan", 4, 100)],
        by_warehouse=[_rate("WH-CY", 5, 300)],
        by_category=[_rate("late", 3, 300), _rate("rider_conduct", 2, 300)],
    )
    line = kpi_complaint_line(figures).plain
    assert line.startswith("Complaints: 1.7 per 100 delivered (5 of 300; down from 2.1)")
    assert "3 open" in line and "late 3, rider conduct 2" in line
    assert "most: meituan 4.0, WH-CY 1.7" in line
    worse = figures.model_copy(update={"previous_per_100_delivered": 0.5})
    assert "!! up from 0.5" in kpi_complaint_line(worse).plain
    quiet = ComplaintKpis(
        complaints=0,
        resolved=0,
        delivered=0,
        per_100_delivered=None,
        previous_per_100_delivered=None,
        by_channel=[],
        by_warehouse=[],
        by_category=[],
    )
    assert kpi_complaint_line(quiet).plain == "Complaints: — per 100 delivered (0 of 0)"


async def test_the_kpi_screen_shows_the_complaint_line() -> None:
    app = kpi_app()
    figures = ComplaintKpis(
        complaints=2,
        resolved=0,
        delivered=40,
        per_100_delivered=5.0,
        previous_per_100_delivered=None,
        by_channel=[_rate("eleme", 2, 40)],
        by_warehouse=[_rate("WH-CY", 2, 40)],
        by_category=[_rate("quality", 2, 40)],
    )
    summary = app.store.kpi.summary
    assert summary is not None and summary.complaints is None
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        line = app.screen.query_one("#complaints", LiveText)
        assert not line.display  # a server without the complaint KPI: no line
        app.store.set_kpi(summary.model_copy(update={"complaints": figures}))
        await until(pilot, lambda: line.display, "the line shown")
        await until(pilot, lambda: "5.0 per 100 delivered" in str(line.content), "the rate")
        assert "quality 2" in str(line.content)
