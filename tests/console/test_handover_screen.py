"""The handover screen with Pilot against the real backend (in process, on a manual clock, on
SQLite and PostgreSQL): opened by its key and from the palette, keys typed in bursts, the
digest read with the keyboard at 80x24 and 200x50, the critical nobody has marked `!!`
(readable without colour), and a merchant told it is the desk's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from backend_client import FreshlineClient
from backend_client.models import Role
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from screens.board import BoardScreen
from screens.handover import HandoverScreen
from screens.merchant import MerchantScreen
from tests.console.conftest import until
from tests.console.samples import me_as
from tests.support import Api

FAR = {"lat": 39.90, "lng": 116.40}


async def a_busy_shift(api: Api) -> dict[str, Any]:
    """Rider 1 out and silent with an order (a critical nobody has), a claim waiting on it."""
    await api.rider_online(1)
    point = {**FAR, "at": api.clock.now().isoformat()}
    fixed = await api.post("rider-1", "/riders/1/positions", json={"points": [point]})
    assert fixed.status_code == 200, fixed.text
    order = await api.act("channel-app", await api.create_order(), "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.act("rider-1", await api.assign(order, 1), "dispatch")
    claim = await api.post(
        "rider-1",
        f"/orders/{order['id']}/claims",
        json={
            "version": order["version"],
            "reason": "eggs broken",
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
            "amount_cents": 120,
        },
    )
    assert claim.status_code == 201, claim.text
    api.clock.advance(minutes=6)
    await api.app.state.runtime.alerts.evaluate()
    return order


@asynccontextmanager
async def console(api: Api, username: str, role: Role) -> AsyncIterator[FreshlineApp]:
    """The console signed in as `username`, talking to the in-process backend."""
    store = Store(FrozenClock(api.clock.now()))
    store.load([], [], last_seq=0)
    app = FreshlineApp(store=store, live=False, me=me_as(role, username))
    async with FreshlineClient(
        "http://testserver",
        token=await api.token(username),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        app.client = client
        yield app


def source(screen: HandoverScreen) -> str:
    return screen.query_one("#digest", Markdown).source


def status(screen: HandoverScreen) -> str:
    return str(screen.query_one("#handover-status").render())


async def test_the_digest_opens_by_key_and_reads_with_the_keyboard(api: Api) -> None:
    order = await a_busy_shift(api)
    async with (
        console(api, "dispatcher", Role.DISPATCHER) as app,
        app.run_test(size=(80, 24)) as pilot,
    ):
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("5", "end")  # typed ahead of the screen and its digest
        screen = app.screen
        assert isinstance(screen, HandoverScreen)
        await until(pilot, lambda: screen.reads == 1, "the digest read")
        text = source(screen)
        assert "## Open critical alerts (1)" in text
        assert "**nobody has taken it**" in text
        assert f"order {order['id']} (WH-CY), 1.20 yuan" in text
        assert f"(rider 1, WH-CY, online): carrying order {order['id']}" in text
        assert status(screen).startswith("!! 1 critical nobody has · 1 critical · 1 waiting")

        view = screen.query_one("#handover-view", VerticalScroll)
        assert view.has_focus
        await until(pilot, lambda: view.max_scroll_y > 0, "a digest longer than 24 lines")
        await pilot.press("end", "up")
        await until(pilot, lambda: view.scroll_y == view.max_scroll_y - 1, "near the end")
        await pilot.press("pageup", "home")
        await until(pilot, lambda: view.scroll_y == 0, "back at the top")

        # Someone takes the critical; `r` reads it again and the !! goes.
        alert = (await api.get("admin", "/alerts")).json()
        silent = next(a for a in alert if a["subject"] == "rider:1")
        taken = await api.post(
            "supervisor",
            f"/alerts/{silent['id']}/acknowledge",
            json={"version": silent["version"], "note": "on it"},
        )
        assert taken.status_code == 200, taken.text
        await pilot.press("r")
        await until(pilot, lambda: screen.reads == 2, "read again")
        assert "acknowledged by **supervisor**" in source(screen)
        assert not status(screen).startswith("!!")
        await pilot.press("1")
        assert isinstance(app.screen, BoardScreen)


async def test_the_palette_opens_it_wide_and_a_merchant_does_not_open_it(
    api: Api,
) -> None:
    await a_busy_shift(api)
    async with console(api, "viewer", Role.VIEWER) as app, app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("ctrl+p", *"shift handover", "enter")
        await until(pilot, lambda: isinstance(app.screen, HandoverScreen), "the palette")
        screen = app.screen
        assert isinstance(screen, HandoverScreen)
        await until(pilot, lambda: screen.reads == 1, "the digest read")
        assert "## Riders still out (1)" in source(screen)
    async with (
        console(api, "merchant-wh-cy", Role.MERCHANT) as app,
        app.run_test(size=(80, 24)) as pilot,
    ):
        # A store account works on its own warehouse's screen: `5` (in a burst with the other
        # desk keys) does not take it to the desk's digest (the API would refuse it anyway).
        await until(pilot, lambda: isinstance(app.screen, MerchantScreen), "the store screen")
        await pilot.press("5", "4", "5")
        assert isinstance(app.screen, MerchantScreen)
        assert not app.query(HandoverScreen)
