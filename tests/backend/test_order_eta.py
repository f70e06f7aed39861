"""The ETA and the rider on the order's wire model: by state, by role (the rider's phone
through the field policy), from the same source as the board's ETA (`order.eta`, the rider's
route), on the list, the detail and the answers to writes; and a list with many orders out for
delivery costs no more queries than one with one.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import event

from backend_client.phones import mask_phone
from tests.backend.test_eta_and_geofences import WH_CY, delivering, events, fix, north
from tests.backend.test_field_policy import RIDER_1_MASKED, RIDER_1_PHONE
from tests.support import Api


async def order_as(api: Api, account: str, order_id: int) -> dict[str, Any]:
    response = await api.get(account, f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def listed_as(api: Api, account: str, order_id: int) -> dict[str, Any]:
    response = await api.get(account, "/orders", params={"limit": 500})
    assert response.status_code == 200, response.text
    return next(o for o in response.json()["items"] if o["id"] == order_id)


async def test_eta_and_rider_follow_the_order_through_its_states(api: Api) -> None:
    await api.rider_online(1)
    created = await api.create_order()
    assert (created["eta"], created["eta_reason"], created["rider"]) == (
        None,
        "not_dispatched",
        None,
    )

    order = await delivering(api, 1, promise_minutes=60, to=north(2000), phone="13911112001")
    # Out for delivery, no fix since: its rider, but no ETA yet.
    assert (order["eta"], order["eta_reason"]) == (None, "no_fix")
    assert order["rider"]["id"] == 1 and order["rider"]["last_fix"] is None

    api.clock.advance(seconds=15)
    fixed_at = api.clock.now()
    await fix(api, 1, WH_CY, speed_kmh=20)
    [published] = await events(api, "order.eta")
    route = (await api.get("dispatcher", "/riders/1/route")).json()
    for account in ("dispatcher", "viewer", "rider-1", "channel-app"):
        for seen in (
            await order_as(api, account, order["id"]),
            await listed_as(api, account, order["id"]),
        ):
            # The board's ETA: what `order.eta` carried and the rider's route says.
            eta = datetime.fromisoformat(seen["eta"])
            assert eta == datetime.fromisoformat(published["payload"]["eta"]), account
            assert eta == datetime.fromisoformat(route["stops"][0]["eta"])
            assert seen["eta_reason"] is None
            rider = seen["rider"]
            assert rider["id"] == 1 and rider["name"]
            last = rider["last_fix"]
            assert (last["lat"], last["lng"]) == WH_CY
            assert datetime.fromisoformat(last["at"]) == fixed_at

    # The rider's phone by the field policy: the desk whole, the rider their own, others masked.
    phones = {
        account: (await order_as(api, account, order["id"]))["rider"]["phone"]
        for account in ("dispatcher", "support", "viewer", "rider-1", "channel-app")
    }
    assert phones == {
        "dispatcher": RIDER_1_PHONE,
        "support": RIDER_1_PHONE,
        "viewer": RIDER_1_MASKED,
        "rider-1": RIDER_1_PHONE,
        "channel-app": RIDER_1_MASKED,
    }
    assert mask_phone(RIDER_1_PHONE) == RIDER_1_MASKED

    # Stopped on the road: no ETA until a rider resumes it, and no rider on the way.
    current = await order_as(api, "dispatcher", order["id"])
    stopped = await api.act("rider-1", current, "report_exception", reason="flat tyre")
    assert (stopped["eta"], stopped["eta_reason"], stopped["rider"]) == (None, "exception", None)


async def test_a_signed_order_has_no_eta_and_no_rider(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(1000), phone="13911112002")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    current = await order_as(api, "dispatcher", order["id"])
    assert current["eta"] is not None
    signed = await api.act("rider-1", current, "sign")
    assert (signed["eta"], signed["eta_reason"], signed["rider"]) == (None, "delivery_over", None)
    assert (await listed_as(api, "dispatcher", order["id"]))["eta_reason"] == "delivery_over"


async def test_the_list_reads_riders_and_etas_in_one_query_for_the_page(api: Api) -> None:
    """Reading a page costs the same statements with one order out for delivery as with
    four: their riders and ETAs come in one batch, not one query per order."""
    await api.rider_online(1)
    engine = api.app.state.runtime.db.engine.sync_engine
    statements: list[str] = []
    # Only the page's own statements: the backend's background tasks (started before the
    # variable is set) keep querying meanwhile, more or fewer by the machine's load.
    counting: ContextVar[bool] = ContextVar("counting", default=False)

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counting.get():
            statements.append(statement)

    async def statements_for_a_page() -> int:
        await api.token("dispatcher")  # signed in before counting
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        mark = counting.set(True)
        try:
            response = await api.get("dispatcher", "/orders", params={"status": "DELIVERING"})
        finally:
            counting.reset(mark)
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    await delivering(api, 1, promise_minutes=60, to=north(1000), phone="13911112003")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    one = await statements_for_a_page()
    assert one > 0  # the page's statements are seen
    for n in range(3):
        await delivering(api, 1, promise_minutes=61 + n, to=north(1100 + n), phone=f"1391111301{n}")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    page = (await api.get("dispatcher", "/orders", params={"status": "DELIVERING"})).json()
    assert len(page["items"]) == 4 and all(o["eta"] for o in page["items"])
    assert await statements_for_a_page() == one
