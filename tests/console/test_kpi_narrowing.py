"""Narrowing the KPI screen to one warehouse or zone: the store keeps the numbers of one scope
only (the stream's pushes are of the account's whole scope), the feed asks the real backend
for the narrowed numbers, and `f` on the screen narrows, says so, and carries the scope to the
board that `enter` opens."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx

from backend_client import FreshlineClient, StreamState, StreamStatus
from backend_client.models import Role
from console.app import FreshlineApp
from console.kpi_feed import KpiFeed
from console.store import FrozenClock, KpiScope, Store
from screens.board import BoardScreen
from screens.dialogs import ChoiceDialog
from screens.kpi import KpiScreen
from tests.console import kpi_samples as sample
from tests.console.conftest import until
from tests.console.samples import me_as
from tests.support import Api, customer

HAIDIAN = customer(address="Zhongguancun St 30, Haidian", lat=39.9840, lng=116.3170)


def test_the_store_keeps_the_kpis_of_one_scope() -> None:
    store = Store(FrozenClock(sample.NOW))
    store.set_kpi(sample.summary())
    store.set_kpi_day(sample.series(), sample.exceptions())
    store.drain()
    haidian = KpiScope(zone="Haidian")
    store.narrow_kpis(haidian)
    assert store.drain().kpi
    # The whole city's numbers go: they were not Haidian's.
    assert store.kpi.summary is None and store.kpi.series is None
    assert store.kpi.scope == haidian and store.kpi.age() is None
    store.set_kpi(sample.summary())  # a push of the whole scope, as the stream sends
    assert store.kpi.summary is None and not store.drain().kpi
    store.set_kpi(sample.summary(), haidian)
    assert store.kpi.summary is not None and store.drain().kpi
    store.narrow_kpis(haidian)  # the same again changes nothing
    assert store.kpi.summary is not None and not store.drain().kpi
    store.narrow_kpis(KpiScope())
    assert store.kpi.summary is None and not store.kpi.scope.active


async def test_the_feed_asks_the_backend_for_the_narrowed_numbers(api: Api) -> None:
    for _ in range(3):
        await api.create_order()  # Chaoyang
    await api.create_order(customer=HAIDIAN)
    api.clock.advance(minutes=1)  # a window ends where the server's clock stands, exclusive
    store = Store()
    async with FreshlineClient(
        "http://testserver",
        token=await api.token("supervisor"),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        store.clock.anchor((await client.health()).time)
        feed = KpiFeed(client, store, zone=ZoneInfo("Asia/Shanghai"))
        await feed.refresh_all()
        everything = store.kpi.summary
        assert everything is not None and everything.current.orders == 4
        store.narrow_kpis(KpiScope(zone="Haidian"))
        await feed.tick()  # nothing held for this scope: it asks at once
        haidian = store.kpi.summary
        assert haidian is not None and haidian.current.orders == 1
        assert store.kpi.series is not None
        assert sum(b.figures.orders for b in store.kpi.series.buckets) == 1
        store.narrow_kpis(KpiScope(warehouse_id="WH-CY"))
        await feed.tick()
        assert store.kpi.summary is not None and store.kpi.summary.current.orders == 3


async def test_f_narrows_the_screen_and_enter_opens_the_board_on_the_same_place() -> None:
    store = Store(FrozenClock(sample.NOW))
    store.load([], [], last_seq=500)
    store.set_connection(StreamStatus(StreamState.LIVE))
    store.set_geography([("Chaoyang", ()), ("Haidian", ())], [("WH-CY", 39.93, 116.45)])
    store.set_kpi(sample.summary())
    me = me_as(Role.SUPERVISOR, "supervisor")
    app = FreshlineApp(store=store, live=False, me=me)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the choices")
        labels = [label for _, label in app.screen.choices]  # type: ignore[attr-defined]
        assert labels == ["Everything", "Warehouse WH-CY", "Zone Chaoyang", "Zone Haidian"]
        await pilot.press("down", "down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen again")
        assert store.kpi.scope == KpiScope(zone="Haidian")
        await pilot.pause(0.3)
        window = str(app.screen.query_one("#window").render())
        assert "Haidian only" in window and "waiting for the KPIs of Haidian" in window
        # Haidian's numbers arrive (the feed's part); a tile opens the board on Haidian.
        store.set_kpi(sample.summary(), KpiScope(zone="Haidian"))
        await pilot.pause(0.3)
        assert "Haidian only" in str(app.screen.query_one("#window").render())
        app.screen.tiles["exceptions"].focus()  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert app.screen.order_filter.zone == "Haidian"  # type: ignore[attr-defined]
