"""Views scoped by stage (docs/permissions.md): store staff see their warehouse's
orders from payment until a rider takes them out, and the returns coming back; the table is
configuration. Through REST, search, returns, alerts and the stream's long poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from backend.auth.principal import Principal
from backend.clock import ManualClock
from backend.orders.service import live_order_states
from backend.realtime.visibility import Subscription
from backend.settings import Settings
from backend_client.models import Role, Topic
from tests.backend.test_permissions import MISSING_ORDER, REASON, assert_hidden, order_in
from tests.support import Api, customer, started

MERCHANT = "merchant-wh-cy"
SEEN = ("PAID", "PICKING", "OUT_OF_STOCK", "RETURNING")


async def ids(api: Api, username: str, **params: Any) -> set[int]:
    response = await api.get(username, "/orders", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return {o["id"] for o in response.json()["items"]}


async def one_of_each(api: Api) -> dict[str, dict[str, Any]]:
    """An order of WH-CY in every state, each with a customer named after it."""
    for rider in range(1, 7):  # WH-CY's riders, a few orders each
        await api.rider_online(rider)
    orders: dict[str, dict[str, Any]] = {}
    for state in ("CREATED", *SEEN, "DELIVERING", "EXCEPTION", "CLAIMING"):
        who = customer(name=f"Stage {state.title()}", phone=f"1390000{len(orders):04d}")
        orders[state] = await order_in(
            api, state, rider=None if state == "CREATED" else 2 + len(orders) % 5, customer=who
        )
    signed = await order_in(api, "DELIVERING", rider=1, customer=customer(name="Stage Signed"))
    orders["SIGNED"] = await api.act("dispatcher", signed, "sign")
    back = await order_in(api, "RETURNING", rider=1, customer=customer(name="Stage Returned"))
    orders["RETURNED"] = await api.act("support", back, "complete_return")
    cancelled = await api.create_order(customer=customer(name="Stage Cancelled"))
    orders["CANCELLED"] = await api.act("channel-app", cancelled, "cancel", reason=REASON)
    return orders


async def test_store_staff_see_their_orders_from_payment_to_dispatch_and_returns(
    api: Api,
) -> None:
    orders = await one_of_each(api)
    seen = {orders[s]["id"] for s in SEEN}
    everyone = {o["id"] for o in orders.values()}
    assert await ids(api, "dispatcher") == everyone
    assert await ids(api, MERCHANT) == seen
    assert await ids(api, "merchant-wh-hd") == set()  # and only their own warehouse's
    for state, order in orders.items():
        if state in SEEN:
            for suffix in ("", "/timeline", "/actions", "/track"):
                response = await api.get(MERCHANT, f"/orders/{order['id']}{suffix}")
                assert response.status_code == 200, (state, suffix, response.text)
        else:
            for suffix in ("", "/timeline", "/actions", "/track"):
                assert_hidden(
                    await api.get(MERCHANT, f"/orders/{order['id']}{suffix}"),
                    await api.get(MERCHANT, f"/orders/{MISSING_ORDER}{suffix}"),
                    order,
                    f"{MERCHANT} {state}{suffix}",
                )
        # Search: exactly and with a typo, never beyond the stages.
        name = order["customer"]["name"]
        for q in (name, name[:-1] + "x", str(order["id"])):
            found = await ids(api, MERCHANT, q=q)
            assert found <= seen, (state, q)
            assert (order["id"] in found) == (state in SEEN), (state, q)

    # Returns: the one coming back, not the claim nor the requests of finished orders.
    requests = (await api.get(MERCHANT, "/requests")).json()
    assert {r["order_id"] for r in requests} == {orders["RETURNING"]["id"]}
    claim = next(
        r
        for r in (await api.get("admin", "/requests")).json()
        if r["order_id"] == orders["CLAIMING"]["id"]
    )
    assert (await api.get(MERCHANT, f"/requests/{claim['id']}")).status_code == 404


async def test_the_account_is_told_which_states_it_sees(api: Api) -> None:
    mine = (await api.get(MERCHANT, "/auth/me")).json()
    assert mine["stages"] == sorted(SEEN)
    assert (await api.get("dispatcher", "/auth/me")).json()["stages"] is None


async def test_store_staff_act_on_an_order_and_it_leaves_their_view(api: Api) -> None:
    await api.rider_online(1)
    picking = await order_in(api, "PICKING", rider=1)
    out = await api.act(MERCHANT, picking, "dispatch")
    assert out["status"] == "DELIVERING"  # the answer to the dispatch itself
    assert (await api.get(MERCHANT, f"/orders/{out['id']}")).status_code == 404
    back = await order_in(api, "RETURNING", rider=1)
    shelved = await api.act(MERCHANT, back, "complete_return")
    assert shelved["status"] == "RETURNED"
    # Today's change: a merchant read a RETURNED order of its warehouse.
    assert (await api.get(MERCHANT, f"/orders/{back['id']}")).status_code == 404
    # Out of their view, out of their hands: a transition on it is refused as on no order.
    created = await api.create_order()
    body = {"action": "start_picking", "version": created["version"]}
    refused = await api.post(MERCHANT, f"/orders/{created['id']}/transitions", json=body)
    assert refused.status_code == 404


async def test_alerts_and_the_stream_follow_the_stages(api: Api) -> None:
    start = (await api.get("admin", "/events", params={"since": 0, "topics": "orders"})).json()
    since = start["last_seq"]
    unpaid = await api.create_order()
    short = await order_in(api, "OUT_OF_STOCK")
    await api.rider_online(1)
    left = await order_in(api, "DELIVERING", rider=1)
    api.clock.advance(minutes=16)
    await api.app.state.runtime.alerts.evaluate()
    alerts = (await api.get("admin", "/alerts")).json()
    assert {a["order_id"] for a in alerts} >= {unpaid["id"], short["id"]}
    mine = (await api.get(MERCHANT, "/alerts")).json()
    assert {a["order_id"] for a in mine if a["order_id"] is not None} == {short["id"]}

    async def events(username: str, topics: str) -> list[dict[str, Any]]:
        params = {"since": since, "topics": topics, "wait": 0}
        response = await api.get(username, "/events", params=params)
        assert response.status_code == 200, response.text
        return response.json()["events"]

    theirs = await events(MERCHANT, "orders")
    assert {e["order_id"] for e in theirs} == {short["id"], left["id"]}
    assert not [e for e in theirs if e["order_id"] == unpaid["id"]]
    # The order that left with a rider: up to and including the dispatch, nothing after.
    moves = [(e["from_state"], e["to_state"]) for e in theirs if e["order_id"] == left["id"]]
    assert moves[-1] == ("PICKING", "DELIVERING")
    assert ("CREATED", "PAID") in moves and (None, "CREATED") not in moves
    opened = await events(MERCHANT, "alerts")
    assert {e["order_id"] for e in opened if e["order_id"] is not None} == {short["id"]}
    everything = await events("dispatcher", "orders")
    assert {e["order_id"] for e in everything} == {unpaid["id"], short["id"], left["id"]}


async def test_an_instance_knows_each_live_orders_state_for_the_stream(api: Api) -> None:
    picking = await order_in(api, "PICKING")
    gone = await api.act("channel-app", await api.create_order(), "cancel", reason=REASON)
    # This instance followed its feed; one starting now reads the live orders.
    assert api.app.state.runtime.hub.order_states[picking["id"]] == "PICKING"
    db = api.app.state.runtime.db
    started = await live_order_states(db, now=api.clock.now())
    assert (started[picking["id"]], started[gone["id"]]) == ("PICKING", "CANCELLED")
    later = await live_order_states(db, now=api.clock.now() + timedelta(days=1, minutes=1))
    assert picking["id"] in later and gone["id"] not in later  # final a day ago: not needed


def test_events_without_a_state_follow_the_orders_newest_state() -> None:
    store = Principal(
        user_id=1,
        username=MERCHANT,
        role=Role.MERCHANT,
        warehouse_id="WH-CY",
        stages=frozenset(SEEN),
    )
    sub = Subscription(store, frozenset({Topic.ORDERS}))

    def eta(order_id: int) -> dict[str, Any]:
        return {
            "kind": "order.eta",
            "order_id": order_id,
            "warehouse_id": "WH-CY",
            "from_state": None,
            "to_state": None,
            "payload": {},
        }

    states = {1: "PICKING", 2: "DELIVERING"}
    assert sub.sees(eta(1), {}, states)
    assert not sub.sees(eta(2), {}, states)
    assert not sub.sees(eta(3), {}, states)  # unknown here: not shown
    desk = Subscription(Principal(2, "dispatcher", Role.DISPATCHER), frozenset({Topic.ORDERS}))
    assert desk.sees(eta(3), {}, states)


@pytest.fixture
async def viewer_sees_picking(database_url: str) -> AsyncIterator[Api]:
    """The app with a stage table of its own: viewers see picking only; merchants unnamed."""
    async for api in started(database_url, ManualClock(), stage_scope={"viewer": ["PICKING"]}):
        yield api


async def test_the_stage_table_is_configuration(viewer_sees_picking: Api) -> None:
    api = viewer_sees_picking
    created = await api.create_order()
    picking = await order_in(api, "PICKING")
    assert await ids(api, "viewer") == {picking["id"]}
    # The setting replaces the whole table: store staff, not named, see every state again.
    assert await ids(api, MERCHANT) == {created["id"], picking["id"]}
    assert await ids(api, "dispatcher") == {created["id"], picking["id"]}


def test_a_stage_table_that_hides_everything_or_binds_the_admin_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="admin sees every state"):
        Settings(stage_scope={"admin": ["PAID"]})
    with pytest.raises(ValidationError, match="viewer sees no state"):
        Settings(stage_scope={"viewer": []})
    with pytest.raises(ValidationError):
        Settings(stage_scope={"merchant": ["PACKED"]})
    monkeypatch.setenv("FRESHLINE_STAGE_SCOPE", '{"merchant": ["PICKING", "RETURNING"]}')
    table = Settings().stage_scope
    assert table == {Role.MERCHANT: frozenset({"PICKING", "RETURNING"})}
