"""Taking a rejection back, through the real app on SQLite and PostgreSQL: within the window,
by whoever rejected it (or a supervisor), the request waits for a decision again; an approval
cannot be taken back, nor a rejection once too late or once the order moved on. Every refusal
changes nothing."""

from __future__ import annotations

from typing import Any

from tests.backend.test_returns_and_handover import decide, open_, order_now, out_for_delivery
from tests.support import Api


async def rejected(api: Api, rider: int) -> tuple[dict[str, Any], dict[str, Any]]:
    await api.rider_online(rider)
    order = await out_for_delivery(api, rider)
    opened = await open_(api, f"rider-{rider}", order, "returns")
    assert opened.status_code == 201, opened.text
    response = await decide(api, "support", opened.json(), "reject", reason="customer reachable")
    assert response.status_code == 200, response.text
    return await order_now(api, order), response.json()


async def reopen(api: Api, who: str, request: dict[str, Any], **extra: Any):
    body = {"version": request["version"], **extra}
    return await api.post(who, f"/requests/{request['id']}/reopen", json=body)


async def test_a_rejection_is_taken_back_within_the_window(api: Api) -> None:
    order, request = await rejected(api, 1)
    api.clock.advance(seconds=60)
    response = await reopen(api, "support", request, reason="wrong row")
    assert response.status_code == 200, response.text
    back = response.json()
    assert back["state"] == "pending" and back["version"] == request["version"] + 1
    assert back["decided_by"] is None and back["decision_reason"] is None
    assert (await order_now(api, order))["status"] == "EXCEPTION"
    events = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    (reopened,) = [e for e in events if e["kind"] == "request.reopened"]
    assert (reopened["actor"], reopened["reason"]) == ("support", "wrong row")

    # Decided again, as any pending request.
    approved = await decide(api, "support", back, "approve")
    assert approved.status_code == 200, approved.text
    assert (await order_now(api, order))["status"] == "RETURNING"


async def test_what_cannot_be_taken_back_is_refused_and_changes_nothing(api: Api) -> None:
    _order, request = await rejected(api, 1)
    before = await api.event_count()

    # Not by a role that does not decide; not with a stale version; not a request unknown.
    assert (await reopen(api, "dispatcher", request)).status_code == 403
    stale = await reopen(api, "support", {**request, "version": 1})
    assert stale.status_code == 409 and stale.json()["current_version"] == request["version"]
    assert (await reopen(api, "support", {**request, "id": 999_999})).status_code == 404
    assert (await reopen(api, "support", {**request, "version": "two"})).status_code == 422

    # Too late.
    api.clock.advance(seconds=121)
    late = await reopen(api, "support", request)
    assert late.status_code == 409 and "too late" in late.json()["detail"]
    assert await api.event_count() == before

    # An approval is final.
    other, _ = await rejected(api, 2)
    opened = await open_(
        api,
        "rider-2",
        other,
        "claims",
        items=[{"sku": "VEG-BOKCHOY", "quantity": 1}],
        amount_cents=100,
    )
    assert opened.status_code == 201, opened.text
    approved = (await decide(api, "support", opened.json(), "approve")).json()
    before = await api.event_count()
    final = await reopen(api, "support", approved)
    assert final.status_code == 409 and "approval" in final.json()["detail"]
    assert await api.event_count() == before


async def test_a_supervisor_may_take_back_someone_elses_rejection_while_the_order_waits(
    api: Api,
) -> None:
    order, request = await rejected(api, 1)
    assert (await reopen(api, "supervisor", request)).status_code == 200
    # Rejected again, then the order is resumed: the rejection stays.
    request = (await api.get("admin", f"/requests/{request['id']}")).json()
    again = await decide(api, "support", request, "reject", reason="still reachable")
    assert again.status_code == 200, again.text
    order = await api.act("dispatcher", await order_now(api, order), "resume")
    before = await api.event_count()
    moved_on = await reopen(api, "support", again.json())
    assert moved_on.status_code == 409 and "DELIVERING" in moved_on.json()["detail"]
    assert await api.event_count() == before
