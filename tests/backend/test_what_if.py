"""What-if before confirming: each candidate rider of the reassign dialog comes with the order's
ETA on their route and the orders it would make late there, computed by the server in one
request, through the real app on SQLite and PostgreSQL; and the chaining itself, on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.dispatch.what_if import Stop, what_if
from backend.riders.geo import metres
from tests.backend.test_eta_and_geofences import WH_CY, at, delivering, fix, leg, north
from tests.support import Api


async def test_each_candidate_shows_the_new_eta_and_the_orders_it_would_make_late(
    api: Api,
) -> None:
    await api.rider_online(1)
    await api.rider_online(2)
    await api.rider_online(3)
    # Rider 2 has one order out, due in 10 minutes and on time (8 minutes away).
    theirs = await delivering(api, 2, promise_minutes=10, to=north(3_000), phone="13800000201")
    await fix(api, 2, north(1_000))
    # Rider 1's order, promised in 9 minutes: its goods are with rider 1, 500 m north.
    order = await delivering(api, 1, promise_minutes=9, to=north(2_000), phone="13800000202")
    await fix(api, 1, north(500))
    now = api.clock.now()

    response = await api.get(
        "dispatcher",
        f"/orders/{order['id']}/rider-suggestions",
        params={"what_if": "true", "limit": 10},
    )
    assert response.status_code == 200, response.text
    by_rider = {s["rider"]["id"]: s["what_if"] for s in response.json()}
    two = by_rider[2]
    # Earlier promise first: rider 2 collects it, delivers it, then their own order, late now.
    expected = now + leg(metres(north(1_000), north(500)), 20) + leg(1_500, 20)
    assert abs(at(two["eta"]) - expected) < timedelta(seconds=2)
    assert (two["stop"], two["stops"], two["late"]) == (1, 2, True)
    (made_late,) = two["made_late"]
    assert made_late["order_id"] == theirs["id"]
    assert at(made_late["eta_before"]) <= at(theirs["promised_at"]) < at(made_late["eta_after"])
    # Rider 3 has no fix and nothing out: from the warehouse, alone on the route.
    three = by_rider[3]
    assert (three["stop"], three["stops"], three["made_late"]) == (1, 1, [])
    expected = now + leg(metres(WH_CY, north(500)), 20) + leg(1_500, 20)
    assert abs(at(three["eta"]) - expected) < timedelta(seconds=2)

    # Not asked for: not computed.
    plain = await api.get("dispatcher", f"/orders/{order['id']}/rider-suggestions")
    assert all(s["what_if"] is None for s in plain.json())
    bad = await api.get(
        "dispatcher", f"/orders/{order['id']}/rider-suggestions", params={"what_if": "maybe"}
    )
    assert bad.status_code == 422, bad.text


def test_a_later_promise_goes_after_and_makes_nobody_late() -> None:
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    here = north(0)
    first = Stop(1, north(1_000), start + timedelta(minutes=10))
    added = Stop(2, north(2_000), start + timedelta(minutes=60), pickup=north(500))
    answer = what_if(start, here, [first], added, 20.0)
    assert (answer.stop, answer.stops, answer.late, answer.made_late) == (2, 2, False, [])
    # From the first customer back to the goods, then on to the new customer.
    arrival = start + leg(1_000, 20) + leg(metres(north(1_000), north(500)), 20)
    arrival += leg(metres(north(500), north(2_000)), 20)
    assert abs(answer.eta - arrival) < timedelta(milliseconds=1)


def test_an_earlier_promise_can_make_every_later_stop_late() -> None:
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    route = [
        Stop(1, north(1_000), start + timedelta(minutes=6)),
        Stop(2, north(1_500), start + timedelta(minutes=10)),
        Stop(3, north(9_000), start + timedelta(minutes=90)),
    ]
    added = Stop(4, north(-3_000), start + timedelta(minutes=5))
    answer = what_if(start, north(0), route, added, 20.0)
    assert answer.stop == 1 and answer.late
    assert [m.order_id for m in answer.made_late] == [1, 2]  # stop 3 still makes it


def test_a_route_the_dispatcher_ordered_keeps_its_order_and_the_new_stop_goes_after() -> None:
    """The rider rides the dispatcher's kept order, so the what-if does too: an order with the
    earliest promise still goes after the stops the dispatcher placed."""
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    route = [
        Stop(1, north(1_000), start + timedelta(minutes=30), place=1),
        Stop(2, north(3_000), start + timedelta(minutes=40), place=0),  # placed first
    ]
    added = Stop(3, north(500), start + timedelta(minutes=5))
    answer = what_if(start, north(0), route, added, 20.0)
    assert (answer.stop, answer.stops) == (3, 3)
    # Out to 3 km, back to 1 km, back to 500 m.
    arrival = start + leg(metres(north(0), north(3_000)), 20)
    arrival += leg(metres(north(3_000), north(1_000)), 20)
    arrival += leg(metres(north(1_000), north(500)), 20)
    assert abs(answer.eta - arrival) < timedelta(milliseconds=1)
    assert answer.late
