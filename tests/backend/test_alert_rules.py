"""The alert rules under a controlled clock: each rule fires, raises one alert however often it is
evaluated, changes severity, escalates, groups under its cause and resolves by itself, through
the real app on SQLite and PostgreSQL. The engine's loop is off; each test runs its passes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from backend.alerts.rules import DEFAULT_FILE, RuleBook, Rules
from backend.app import create_app
from backend.clock import ManualClock
from tests.support import STARTUP_S, Api, customer, eventually, settings_for

FAR = (39.90, 116.40)
"""About 6 km from the demo customer: an ETA of 20 min and more."""
NEAR = (39.9355, 116.4551)
"""About 70 m from the demo customer (39.9361, 116.4551)."""


async def evaluate(api: Api) -> int:
    return await api.app.state.runtime.alerts.evaluate()


async def standing(api: Api, **params: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Standing alerts by (rule, subject)."""
    response = await api.get("admin", "/alerts", params=params)
    assert response.status_code == 200, response.text
    return {(a["rule"], a["subject"]): a for a in response.json()}


async def alert_events(api: Api) -> list[dict[str, Any]]:
    response = await api.get("admin", "/events", params={"since": 0, "topics": "alerts"})
    assert response.status_code == 200, response.text
    return response.json()["events"]


async def fix(api: Api, rider: int, at_lat_lng: tuple[float, float], **extra: Any) -> None:
    lat, lng = at_lat_lng
    point = {"lat": lat, "lng": lng, "at": api.clock.now().isoformat(), **extra}
    response = await api.post(
        f"rider-{rider}", f"/riders/{rider}/positions", json={"points": [point]}
    )
    assert response.status_code == 200, response.text


_side = {"north": True}


async def keep_moving(api: Api, rider: int) -> None:
    """A fix 1.1 km north or south of the customer, the other side each time: moving, heard,
    and never further from the customer than before (no rider alert to group under)."""
    _side["north"] = not _side["north"]
    offset = 0.01 if _side["north"] else -0.01
    await fix(api, rider, (39.9361 + offset, 116.4551))


async def delivering(api: Api, rider: int, *, promise_minutes: int = 45, **fields) -> dict:
    """A paid, picked order out for delivery with `rider`, promised in `promise_minutes`."""
    promised = api.clock.now() + timedelta(minutes=promise_minutes)
    order = await api.create_order(promised_at=promised.isoformat(), **fields)
    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def test_orders_waiting_too_long_fire_once_and_resolve_when_they_move(api: Api) -> None:
    unpaid = await api.create_order()
    paid = await api.act("channel-app", await api.create_order(), "pay")
    await evaluate(api)
    assert await standing(api) == {}

    api.clock.advance(minutes=16)
    assert await evaluate(api) == 2
    alerts = await standing(api)
    assert set(alerts) == {
        ("payment_pending", f"order:{unpaid['id']}"),
        ("not_picked", f"order:{paid['id']}"),
    }
    assert alerts["payment_pending", f"order:{unpaid['id']}"]["severity"] == "info"
    assert alerts["not_picked", f"order:{paid['id']}"]["severity"] == "warning"
    events = await alert_events(api)
    assert [e["kind"] for e in events] == ["alert.opened", "alert.opened"]

    # However often the rules run, a condition that lasts is one alert and no more events.
    for _ in range(3):
        api.clock.advance(minutes=1)
        assert await evaluate(api) == 0
    assert len(await alert_events(api)) == 2

    await api.act("channel-app", unpaid, "pay")
    await api.act("dispatcher", paid, "start_picking")
    assert await evaluate(api) == 2
    assert await standing(api) == {}
    resolved = await standing(api, state="resolved")
    assert {a["rule"] for a in resolved.values()} == {"payment_pending", "not_picked"}
    assert all(a["resolution"] == "the condition cleared" for a in resolved.values())


async def test_overdue_turns_critical_escalates_and_resolves_when_signed(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=20)
    key = ("delivery_overdue", f"order:{order['id']}")

    api.clock.advance(minutes=21)
    await keep_moving(api, 1)
    await evaluate(api)
    alert = (await standing(api))[key]
    assert (alert["severity"], alert["state"], alert["order_id"]) == (
        "warning",
        "open",
        order["id"],
    )
    assert alert["rider_id"] == 1 and alert["zone"] == order["zone"]

    api.clock.advance(minutes=30)  # 31 min late: critical, and its escalation clock starts now
    await keep_moving(api, 1)
    await evaluate(api)
    alert = (await standing(api))[key]
    assert (alert["severity"], alert["escalated_at"]) == ("critical", None)

    api.clock.advance(minutes=9)
    await keep_moving(api, 1)
    await evaluate(api)
    assert (await standing(api))[key]["escalated_at"] is None
    api.clock.advance(minutes=1, seconds=1)
    await keep_moving(api, 1)
    await evaluate(api)
    alert = (await standing(api))[key]
    assert alert["escalated_at"] is not None and alert["state"] == "open"
    kinds = [e["kind"] for e in await alert_events(api) if e["payload"]["id"] == alert["id"]]
    assert kinds == ["alert.opened", "alert.updated", "alert.escalated"]

    await api.act("rider-1", order, "sign")
    await evaluate(api)
    assert key not in await standing(api)


async def test_a_silent_rider_is_one_alert_with_their_late_orders_under_it(api: Api) -> None:
    await api.rider_online(1)
    await fix(api, 1, FAR)
    first = await delivering(api, 1, promise_minutes=10)
    second = await delivering(api, 1, promise_minutes=12)
    api.clock.advance(minutes=6)
    await evaluate(api)
    alerts = await standing(api)
    silent = alerts["gps_silent", "rider:1"]
    assert silent["severity"] == "critical" and "carrying 2 orders" in silent["title"]
    assert ("rider_stationary", "rider:1") not in alerts

    api.clock.advance(minutes=7)  # both orders late now
    await evaluate(api)
    alerts = await standing(api)
    children = [alerts["delivery_overdue", f"order:{o['id']}"] for o in (first, second)]
    assert [c["parent_id"] for c in children] == [silent["id"], silent["id"]]

    # Acknowledging the rider's alert takes the grouped ones with it.
    response = await api.post(
        "dispatcher",
        f"/alerts/{silent['id']}/acknowledge",
        json={"version": alerts["gps_silent", "rider:1"]["version"], "note": "calling him"},
    )
    assert response.status_code == 200, response.text
    alerts = await standing(api)
    assert alerts["gps_silent", "rider:1"]["acknowledged_by"] == "dispatcher"
    assert alerts["gps_silent", "rider:1"]["note"] == "calling him"
    for child in children:
        assert alerts["delivery_overdue", child["subject"]]["state"] == "acknowledged"

    # The phone is back: the rider's alert resolves and the late orders stand on their own.
    await fix(api, 1, NEAR)
    await evaluate(api)
    alerts = await standing(api)
    assert ("gps_silent", "rider:1") not in alerts
    assert all(alerts["delivery_overdue", c["subject"]]["parent_id"] is None for c in children)


async def test_standing_still_and_riding_away_while_delivering(api: Api) -> None:
    await api.rider_online(2)
    await fix(api, 2, FAR)
    order = await delivering(api, 2, promise_minutes=90)
    for _ in range(11):  # a fix a minute within a few metres, 11 minutes long
        api.clock.advance(minutes=1)
        await fix(api, 2, (FAR[0] + 0.0001, FAR[1]))
    await evaluate(api)
    alerts = await standing(api)
    assert alerts["rider_stationary", "rider:2"]["severity"] == "warning"

    # Moving again, towards the customer: still clears; then away from it by more than 500 m.
    api.clock.advance(minutes=1)
    await fix(api, 2, (39.92, 116.43))
    await evaluate(api)
    assert ("rider_stationary", "rider:2") not in await standing(api)
    api.clock.advance(minutes=1)
    await fix(api, 2, (39.91, 116.42))
    await evaluate(api)
    alert = (await standing(api))["off_route", "rider:2"]
    assert alert["details"]["metres_off"] > 500

    api.clock.advance(minutes=1)
    await fix(api, 2, NEAR)
    await evaluate(api)
    assert ("off_route", "rider:2") not in await standing(api)
    assert order["status"] == "DELIVERING"


async def test_predicted_late_from_the_riders_pace_and_distance(api: Api) -> None:
    await api.rider_online(1)
    await fix(api, 1, (39.94, 116.45))
    order = await delivering(api, 1, promise_minutes=15)
    key = ("predicted_late", f"order:{order['id']}")
    api.clock.advance(seconds=15)
    await fix(api, 1, FAR, speed_kmh=18)  # 6 km away at 18 km/h: 20 min + 2 at the door
    await evaluate(api)
    alert = (await standing(api))[key]
    assert alert["details"]["distance_m"] > 5000

    api.clock.advance(seconds=15)
    await fix(api, 1, NEAR, speed_kmh=18)
    await evaluate(api)
    assert key not in await standing(api)


async def test_out_of_stock_exceptions_and_cold_chain(api: Api) -> None:
    short = await api.act("channel-app", await api.create_order(), "pay")
    short = await api.act("dispatcher", short, "report_out_of_stock", reason="last bunch wilted")
    await api.rider_online(1)
    trouble = await delivering(api, 1)
    trouble = await api.act("rider-1", trouble, "report_exception", reason="scooter crash")
    cold = await delivering(api, 1, items=[{"sku": "MEA-PORKBELLY", "quantity": 1}])
    assert cold["cold_chain"]
    now = api.clock.now().isoformat()
    readings = [{"order_id": cold["id"], "celsius": 11.5, "at": now}]
    response = await api.post("rider-1", "/sensors/readings", json={"readings": readings})
    assert response.status_code == 200, response.text
    await evaluate(api)
    alerts = await standing(api)
    assert "last bunch wilted" in alerts["out_of_stock", f"order:{short['id']}"]["title"]
    exception = alerts["delivery_exception", f"order:{trouble['id']}"]
    assert exception["severity"] == "critical" and "scooter crash" in exception["title"]
    hot = alerts["cold_chain_temperature", f"order:{cold['id']}"]
    assert hot["details"]["celsius"] == 11.5

    # The vehicle's newer reading is back in range; the order's box is not asked again.
    api.clock.advance(minutes=1)
    readings = [{"rider_id": 1, "celsius": 3.0, "at": api.clock.now().isoformat()}]
    assert (
        await api.post("rider-1", "/sensors/readings", json={"readings": readings})
    ).status_code == 200
    await api.act("dispatcher", short, "cancel", reason="customer gave up")
    await api.act("dispatcher", trouble, "resume")
    await evaluate(api)
    alerts = await standing(api)
    assert not {k for k in alerts if k[0] in ("out_of_stock", "delivery_exception")}
    assert ("cold_chain_temperature", f"order:{cold['id']}") not in alerts

    # Readings from outside the rider's reach, or naming nothing, refuse the whole batch.
    for bad in (
        [{"rider_id": 2, "celsius": 3.0, "at": now}],
        [{"celsius": 3.0, "at": now}],
        [{"order_id": cold["id"], "rider_id": 1, "celsius": 3.0, "at": now}],
    ):
        response = await api.post("rider-1", "/sensors/readings", json={"readings": bad})
        assert response.status_code == 422, response.text
        assert "readings[0]" in response.json()["detail"]


async def test_snoozed_alerts_come_back_and_a_stale_version_is_refused(api: Api) -> None:
    order = await api.create_order(customer=customer(phone="13911112222"))
    api.clock.advance(minutes=16)
    await evaluate(api)
    alert = (await standing(api))["payment_pending", f"order:{order['id']}"]
    body = {"version": alert["version"], "minutes": 15, "note": "channel is slow today"}
    snoozed = await api.post("support", f"/alerts/{alert['id']}/snooze", json=body)
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["state"] == "snoozed"

    # The same request again is the same answer, not a second snooze; an old version is a 409.
    stale = await api.post("dispatcher", f"/alerts/{alert['id']}/acknowledge", json={"version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and stale.json()["changed_by"] == "support"

    api.clock.advance(minutes=10)
    await evaluate(api)
    assert (await standing(api))["payment_pending", f"order:{order['id']}"]["state"] == "snoozed"
    api.clock.advance(minutes=6)
    await evaluate(api)
    back = (await standing(api))["payment_pending", f"order:{order['id']}"]
    assert (back["state"], back["snoozed_until"]) == ("open", None)


async def test_the_desk_acts_once_per_key_within_its_scope(api: Api) -> None:
    order = await api.create_order()
    api.clock.advance(minutes=16)
    await evaluate(api)
    alert = (await standing(api))["payment_pending", f"order:{order['id']}"]
    path, body = f"/alerts/{alert['id']}/acknowledge", {"version": alert["version"]}
    key = {"Idempotency-Key": "ack-once"}
    first = await api.post("support", path, json=body, headers=key)
    again = await api.post("support", path, json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    kinds = [e["kind"] for e in await alert_events(api)]
    assert kinds == ["alert.opened", "alert.acknowledged"]

    # Roles and scope: a viewer reads but does not act; another warehouse's merchant sees nothing.
    assert (await api.post("viewer", path, json={"version": 2})).status_code == 403
    assert (await api.get("viewer", f"/alerts/{alert['id']}")).status_code == 200
    assert (await api.get("merchant-wh-hd", f"/alerts/{alert['id']}")).status_code == 404
    assert (await api.get("merchant-wh-hd", "/alerts")).json() == []
    assert (await api.get("rider-1", "/alerts")).status_code == 403
    assert (await api.get("admin", "/alerts/999999")).status_code == 404


# --- The rules file -----------------------------------------------------------------------------


def test_a_changed_rules_file_is_read_again_and_a_broken_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    clock = ManualClock()
    book = RuleBook(path, now=clock.now())
    assert book.error is None and book.rules == Rules()

    # Only what the file says changes; the rest keeps its default.
    path.write_text("[payment_pending]\nminutes = 5\n", encoding="utf-8")
    assert book.refresh(clock.advance(minutes=1))
    assert book.rules.payment_pending.minutes == 5
    assert book.rules.gps_silent == Rules().gps_silent
    assert not book.refresh(clock.now())  # unchanged: not read again

    for broken, complaint in (
        ("[payment_pending]\nminutes = -1\n", "payment_pending.minutes"),
        ("[payment_pendng]\nminutes = 3\n", "payment_pendng"),
        ("[gps_silent]\nseverity = 'loud'\n", "gps_silent.severity"),
        ("[cold_chain_temperature]\nmin_celsius = 9.0\n", "min_celsius must be below"),
        ("[payment_pending\n", "not valid TOML"),
    ):
        path.write_text(broken, encoding="utf-8")
        assert not book.refresh(clock.advance(minutes=1))
        assert book.error is not None and complaint in book.error, book.error
        assert book.rules.payment_pending.minutes == 5  # the rules in force stay
    path.unlink()
    assert not book.refresh(clock.now())
    assert "cannot read" in (book.error or "")


async def test_the_rules_in_force_and_a_refused_file_are_shown(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[payment_pending]\nminutes = 2\n", encoding="utf-8")
    clock = ManualClock()
    app = create_app(settings_for(database_url, alert_rules_file=str(path)), clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        api = Api(client, app, clock)
        order = await api.create_order()
        clock.advance(minutes=3)
        await evaluate(api)
        assert ("payment_pending", f"order:{order['id']}") in await standing(api)

        path.write_text("[payment_pending]\nminutes = 'soon'\n", encoding="utf-8")
        answer = (await api.get("support", "/alerts/rules")).json()
        assert answer["source"] == str(path)
        assert answer["rules"]["payment_pending"]["minutes"] == 2
        assert "payment_pending.minutes" in answer["error"]


async def test_the_engine_answers_a_change_at_once_not_at_its_tick(database_url: str) -> None:
    """With the engine running and a tick of a minute, an order going out of stock is in the
    queue long before the tick: the change itself set the rules off."""
    clock = ManualClock()
    settings = settings_for(database_url, alerts=True, alert_tick_seconds=60)
    app = create_app(settings, clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        api = Api(client, app, clock)
        order = await api.act("channel-app", await api.create_order(), "pay")
        await api.act("merchant-wh-cy", order, "report_out_of_stock", reason="crate dropped")

        async def alerted() -> bool:
            return ("out_of_stock", f"order:{order['id']}") in await standing(api)

        await eventually(alerted, "the alert, long before the minute's tick", within=10)


async def test_passing_near_the_next_stop_on_the_way_is_not_riding_away_from_it(api: Api) -> None:
    await api.rider_online(1)
    await fix(api, 1, (39.9370, 116.4551))  # near customer B (the demo customer)
    stop_b = await delivering(api, 1, promise_minutes=90)
    north = customer(phone="13911113333", lat=39.9600, lng=116.4551)  # A: 2.6 km north of B
    stop_a = await delivering(api, 1, promise_minutes=90, customer=north)
    for lat in (39.9400, 39.9500, 39.9595):  # riding to A, away from B but towards A
        api.clock.advance(minutes=2)
        await fix(api, 1, (lat, 116.4551))
    await evaluate(api)
    assert ("off_route", "rider:1") not in await standing(api)

    await api.act("rider-1", stop_a, "sign")  # a new leg: B is the way to go now
    api.clock.advance(minutes=2)
    await fix(api, 1, (39.9550, 116.4551))
    await evaluate(api)
    assert ("off_route", "rider:1") not in await standing(api)
    assert stop_b["status"] == "DELIVERING"


async def test_a_pass_after_events_looks_only_at_what_they_touched(api: Api) -> None:
    """The engine's pass after a burst of events evaluates the orders, riders and requests the
    events were about; every other subject waits for the tick's full pass (it can only have
    changed with time)."""
    from backend.alerts.findings import Subjects

    engine = api.app.state.runtime.alerts
    one, other = await api.create_order(), await api.create_order()
    api.clock.advance(minutes=16)  # both wait for payment too long now
    assert await engine.evaluate(Subjects(orders=frozenset({one["id"]}))) == 1
    assert set(await standing(api)) == {("payment_pending", f"order:{one['id']}")}
    # A pass about the other order alone neither resolves nor touches the first one's alert.
    assert await engine.evaluate(Subjects(orders=frozenset({other["id"]}))) == 1
    paid = await api.act("channel-app", one, "pay")
    assert await engine.evaluate(Subjects(orders=frozenset({other["id"]}))) == 0
    assert len(await standing(api)) == 2
    assert await engine.evaluate(Subjects(orders=frozenset({paid["id"]}))) == 1  # resolved
    assert set(await standing(api)) == {("payment_pending", f"order:{other['id']}")}


async def test_what_events_touch_is_gathered_between_passes(api: Api) -> None:
    engine = api.app.state.runtime.alerts
    committed: list[Any] = []
    api.app.state.runtime.db.committed.append(committed.extend)  # what the engine is told
    await api.rider_online(3)
    order = await api.create_order()
    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    await api.assign(order, 3)
    engine.heard(committed)
    touched = engine.pending()
    assert touched.orders is not None and order["id"] in touched.orders
    assert touched.riders is not None and 3 in touched.riders
    engine.wake()  # something changed without an event: the next pass looks at everything
    assert engine.pending().everything
