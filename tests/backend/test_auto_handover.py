"""Automatic handover through the real app on SQLite and PostgreSQL, time driven by the
injected clock: an accident report gets a proposal at once (who takes which order); nobody
deciding, the system carries it out when `auto_handover.minutes` have passed and not before,
as `system` with the reason, the ETA told and the customer notified; a dispatcher's decision
wins over the timer; an undo restores the assignment (and the stop) and is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.clock import ManualClock
from backend.notifications.models import NotificationRow
from backend.takeover.desk import TakeoverDesk
from tests.backend.test_eta_and_geofences import delivering, events, fix, north
from tests.backend.test_incident import accident, evaluate
from tests.support import Api, eventually, started

WAIT = timedelta(minutes=5)
"""The packaged rules' `[auto_handover] minutes`."""


def desk(api: Api, *, notify: bool = False) -> TakeoverDesk:
    """The app's loop, or one like it that tells customers (the test apps run no notifier)."""
    runtime = api.app.state.runtime
    if not notify:
        return runtime.takeovers
    zone = ZoneInfo(runtime.settings.time_zone)
    book = runtime.alert_rules
    return TakeoverDesk(runtime.db, api.clock, book, tick_seconds=1, notify_zone=zone)


async def proposals(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("dispatcher", "/takeovers", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def audit(api: Api, kind: str) -> list[dict[str, Any]]:
    """The `takeover.*` events of the audit trail (supervisors and admins see it)."""
    await api.app.state.runtime.feed.catch_up()
    response = await api.get("admin", "/events", params={"since": 0, "topics": "audit"})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["kind"] == kind]


async def order_of(api: Api, order_id: int) -> dict[str, Any]:
    response = await api.get("admin", f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def proposed(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """An accident on rider 1's road, its proposal made by one pass of the loop."""
    order, _ = await accident(api)
    assert (await desk(api).sweep())["proposed"] == 1
    (proposal,) = await proposals(api)
    return order, proposal


async def test_an_accident_gets_a_proposal_at_once(api: Api) -> None:
    order, proposal = await proposed(api)
    assert proposal["state"] == "proposed" and proposal["trigger"] == "accident"
    assert proposal["rider_id"] == 1 and "traffic accident" in proposal["reason"]
    (move,) = proposal["moves"]
    assert move["order_id"] == order["id"] and move["to_rider_id"] == 2
    assert move["eta"] is not None
    assert datetime.fromisoformat(proposal["due_at"]) == api.clock.now() + WAIT
    # Nothing moved yet; another pass proposes nothing more.
    assert (await order_of(api, order["id"]))["rider_id"] == 1
    assert (await desk(api).sweep())["proposed"] == 0
    assert len(await proposals(api)) == 1
    (made,) = await audit(api, "takeover.proposed")
    assert made["actor"] == "system" and made["payload"]["id"] == proposal["id"]


async def test_carried_out_by_the_system_after_the_delay_and_not_before(api: Api) -> None:
    order, proposal = await proposed(api)
    loop = desk(api, notify=True)
    api.clock.advance(seconds=WAIT.total_seconds() - 1)
    assert (await loop.sweep())["carried_out"] == 0
    assert (await order_of(api, order["id"]))["rider_id"] == 1
    api.clock.advance(seconds=1)
    assert (await loop.sweep())["carried_out"] == 1
    moved = await order_of(api, order["id"])
    assert moved["rider_id"] == 2 and moved["status"] == "DELIVERING"
    (done,) = await proposals(api)
    assert done["state"] == "carried_out" and done["decided_by"] == "system"
    assert "automatically" in done["outcome"]
    # As `system`, with the reason; the new rider's ETA told at once; the incident closed.
    story = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    (given,) = [e for e in story if e["kind"] == "order.assigned" and e["rider_id"] == 2]
    assert given["actor"] == "system" and "traffic accident" in given["reason"]
    assert [e for e in await events(api, "order.eta") if e["rider_id"] == 2]
    assert await evaluate(api) >= 0
    alerts = (await api.get("dispatcher", "/alerts", params={"order_id": order["id"]})).json()
    assert alerts == []
    async with api.app.state.runtime.db.read() as session:
        (told,) = (
            await session.scalars(
                select(NotificationRow).where(NotificationRow.order_id == order["id"])
            )
        ).all()
    assert told.rule == f"handover:{proposal['id']}" and "another rider" in told.message
    # Once: later passes find nothing to do.
    api.clock.advance(seconds=60)
    assert (await loop.sweep())["carried_out"] == 0


async def test_a_dispatchers_decision_wins_over_the_timer(api: Api) -> None:
    order, _proposal = await proposed(api)
    await api.rider_online(3)
    await api.assign(order, 3)  # the dispatcher chose another rider by hand
    assert (await desk(api).sweep())["overtaken"] == 1
    api.clock.advance(seconds=WAIT.total_seconds() + 1)
    assert (await desk(api).sweep())["carried_out"] == 0
    assert (await order_of(api, order["id"]))["rider_id"] == 3
    (over,) = await proposals(api)
    assert over["state"] == "overtaken" and "changed since the proposal" in over["outcome"]


async def test_dismissed_proposals_stay_dismissed(api: Api) -> None:
    order, proposal = await proposed(api)
    body = {"version": proposal["version"], "reason": "rider is fine, riding on"}
    response = await api.post("dispatcher", f"/takeovers/{proposal['id']}/dismiss", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "dismissed"
    again = await api.post("dispatcher", f"/takeovers/{proposal['id']}/dismiss", json=body)
    assert again.status_code == 409, again.text
    api.clock.advance(seconds=WAIT.total_seconds() + 1)
    assert (await desk(api).sweep()) == {
        "proposed": 0,
        "overtaken": 0,
        "carried_out": 0,
        "failed": 0,
    }
    assert (await order_of(api, order["id"]))["rider_id"] == 1


async def test_accepted_with_a_change_moves_to_the_chosen_rider(api: Api) -> None:
    order, proposal = await proposed(api)
    await api.rider_online(3)
    path = f"/takeovers/{proposal['id']}/accept"
    stale = await api.post("dispatcher", path, json={"version": proposal["version"] + 1})
    assert stale.status_code == 409, stale.text
    stranger = {"version": proposal["version"], "changes": [{"order_id": 999, "to_rider_id": 3}]}
    assert (await api.post("dispatcher", path, json=stranger)).status_code == 422
    assert (await api.post("support", path, json={"version": 1})).status_code == 403
    change = {"order_id": order["id"], "to_rider_id": 3}
    response = await api.post(
        "dispatcher", path, json={"version": proposal["version"], "changes": [change]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "carried_out"
    assert response.json()["decided_by"] == "dispatcher"
    moved = await order_of(api, order["id"])
    assert moved["rider_id"] == 3 and moved["status"] == "DELIVERING"


async def test_undo_restores_the_assignment_and_is_audited(api: Api) -> None:
    order, proposal = await proposed(api)
    api.clock.advance(seconds=WAIT.total_seconds())
    await desk(api).sweep()
    (done,) = await proposals(api)
    path = f"/takeovers/{proposal['id']}/undo"
    stale = await api.post("dispatcher", path, json={"version": done["version"] - 1})
    assert stale.status_code == 409, stale.text
    response = await api.post("dispatcher", path, json={"version": done["version"]})
    assert response.status_code == 200, response.text
    undone = response.json()
    assert undone["state"] == "undone" and undone["undone_by"] == "dispatcher"
    back = await order_of(api, order["id"])
    assert back["rider_id"] == 1 and back["status"] == "EXCEPTION"
    story = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    (returned,) = [e for e in story if e["kind"] == "order.assigned" and e["rider_id"] == 1][-1:]
    assert returned["actor"] == "dispatcher" and "undone" in returned["reason"]
    (trail,) = await audit(api, "takeover.undone")
    assert trail["actor"] == "dispatcher" and trail["payload"]["id"] == proposal["id"]
    again = await api.post("dispatcher", path, json={"version": undone["version"]})
    assert again.status_code == 409, again.text
    # The exception stands again; the desk gave these orders back: no new proposal for them.
    await evaluate(api)
    assert (await desk(api).sweep())["proposed"] == 0


async def test_undo_is_refused_once_an_order_moved_on(api: Api) -> None:
    order, proposal = await proposed(api)
    api.clock.advance(seconds=WAIT.total_seconds())
    await desk(api).sweep()
    await api.rider_online(3)
    await api.assign(await order_of(api, order["id"]), 3)
    (done,) = await proposals(api)
    before = await api.event_count()
    response = await api.post(
        "dispatcher", f"/takeovers/{proposal['id']}/undo", json={"version": done["version"]}
    )
    assert response.status_code == 409, response.text
    assert "changed since the handover" in response.json()["detail"]
    assert await api.event_count() == before


async def test_every_order_the_rider_carries_is_proposed(api: Api) -> None:
    """Rider 1 carries two orders when the accident happens: both go, to riders with room."""
    await api.rider_online(1)
    await api.rider_online(2)
    second = await delivering(api, 1, promise_minutes=50, to=north(4_000), phone="13800000111")
    order, _ = await accident(api)
    await desk(api).sweep()
    (proposal,) = await proposals(api)
    assert sorted(m["order_id"] for m in proposal["moves"]) == sorted([order["id"], second["id"]])
    assert all(m["to_rider_id"] == 2 for m in proposal["moves"])
    api.clock.advance(seconds=WAIT.total_seconds())
    await desk(api).sweep()
    assert (await order_of(api, second["id"]))["rider_id"] == 2


async def test_a_silent_rider_with_orders_gets_a_proposal(api: Api) -> None:
    await api.rider_online(1)
    await api.rider_online(2)
    order = await delivering(api, 1, promise_minutes=40, to=north(3_000), phone="13800000112")
    await fix(api, 1, north(500))
    await fix(api, 2, north(800))
    api.clock.advance(seconds=6 * 60)  # past `gps_silent.minutes`: critical, carrying one
    await fix(api, 2, north(800))
    await evaluate(api)
    await desk(api).sweep()
    (proposal,) = await proposals(api)
    assert proposal["trigger"] == "gps_silent" and proposal["rider_id"] == 1
    assert [(m["order_id"], m["to_rider_id"]) for m in proposal["moves"]] == [(order["id"], 2)]


async def test_bad_input_is_refused(api: Api) -> None:
    assert (await api.get("dispatcher", "/takeovers/999")).status_code == 404
    response = await api.post("dispatcher", "/takeovers/999/accept", json={"version": 1})
    assert response.status_code == 404
    assert (await api.get("dispatcher", "/takeovers", params={"state": "maybe"})).status_code == 422
    _, proposal = await proposed(api)
    path = f"/takeovers/{proposal['id']}/accept"
    assert (await api.post("dispatcher", path, json={})).status_code == 422
    assert (await api.post("dispatcher", path, json={"version": 0})).status_code == 422
    undo = await api.post("dispatcher", f"/takeovers/{proposal['id']}/undo", json={"version": 1})
    assert undo.status_code == 409  # not carried out


async def test_the_running_loop_proposes_by_itself_when_the_alert_opens(
    database_url: str, clock: ManualClock
) -> None:
    """With the alert engine and the loop running (as `freshline serve` runs them), the
    accident's alert wakes the loop: the proposal is there without anyone asking for a pass."""
    async for api in started(database_url, clock, alerts=True, auto_handover_tick_seconds=600):

        async def made(api: Api = api) -> bool:
            found = await proposals(api, state="proposed")
            return any(p["trigger"] == "accident" for p in found)

        await accident(api)
        await eventually(made, "the proposal", within=20)
        (proposal,) = await proposals(api, state="proposed")
        assert proposal["moves"][0]["to_rider_id"] == 2
        # (Rider 1 carried the order a moment before their first fix: a silence, critical,
        # whose proposal the fix overtook; one standing proposal per rider at a time.)
        assert {p["state"] for p in await proposals(api)} <= {"proposed", "overtaken"}


async def test_a_taker_gone_offline_leaves_it_failed_for_the_desk(api: Api) -> None:
    order, _ = await proposed(api)
    response = await api.post("rider-2", "/riders/2/status", json={"status": "offline"})
    assert response.status_code == 200, response.text
    api.clock.advance(seconds=WAIT.total_seconds())
    assert (await desk(api).sweep())["failed"] == 1
    (failed,) = await proposals(api)
    assert failed["state"] == "failed" and "offline" in failed["outcome"]
    assert (await order_of(api, order["id"]))["rider_id"] == 1  # nothing moved
    assert (await desk(api).sweep())["failed"] == 0
