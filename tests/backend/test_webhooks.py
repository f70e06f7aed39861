"""Webhook subscriptions through the real app: validation, the secret, signed deliveries in
`seq` order within their scope, parking after failures, resume and replay.

The receiver is a real HTTP server on a thread (`tests/webhook_receiver.py`); the slow tests
with one in a process of its own, killed and restarted, are in test_webhook_delivery.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.clock import ManualClock
from backend_client.models import WebhookDelivery
from tests.backend.webhook_support import FAST, logged_seqs, subscribe, verified
from tests.support import Api, eventually, started
from tests.webhook_receiver import Receiver, repeats


@pytest.fixture
async def hooks_api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    async for api in started(database_url, clock, **FAST):
        yield api


async def listed(api: Api) -> list[dict[str, Any]]:
    response = await api.get("supervisor", "/webhooks")
    assert response.status_code == 200, response.text
    return response.json()


BAD_BODIES: list[dict[str, Any]] = [
    {"url": "ftp://hooks.example.com/x", "kinds": ["order.*"]},
    {"url": "http://user:pw@hooks.example.com/x", "kinds": ["order.*"]},
    {"url": "https://token@hooks.example.com/x", "kinds": ["order.*"]},
    {"url": "http:///no-host", "kinds": ["order.*"]},
    {"url": "hooks.example.com/x", "kinds": ["order.*"]},
    {"url": "http://hooks.example.com/a b", "kinds": ["order.*"]},
    {"url": "http://hooks.example.com:99999/x", "kinds": ["order.*"]},
    {"url": "http://hooks.example.com/x#frag", "kinds": ["order.*"]},
    {"url": "http://hooks.example.com/" + "x" * 2000, "kinds": ["order.*"]},
    {"url": "http://hooks.example.com/x", "kinds": []},
    {"url": "http://hooks.example.com/x", "kinds": ["stock.*"]},
    {"url": "http://hooks.example.com/x", "kinds": ["order"]},
    {"url": "http://hooks.example.com/x", "kinds": ["order.*", "order.*"]},
    {"url": "http://hooks.example.com/x", "kinds": ["order.*"], "channel": "nowhere"},
    {"url": "http://hooks.example.com/x", "kinds": ["alert.*"], "channel": "app"},
    {"url": "http://hooks.example.com/x", "kinds": ["order.*"], "warehouse_id": "WH-NONE"},
    {
        "url": "http://hooks.example.com/x",
        "kinds": ["order.*"],
        "channel": "app",
        "warehouse_id": "WH-CY",
    },
    {"url": "http://hooks.example.com/x", "kinds": ["order.*"], "secret": "mine"},
]


async def test_bad_subscriptions_answer_422_and_change_nothing(hooks_api: Api) -> None:
    api = hooks_api
    before = await api.event_count()
    for body in BAD_BODIES:
        response = await api.post("admin", "/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert "detail" in response.json()
    assert await listed(api) == []
    assert await api.event_count() == before
    for path, body in [("/webhooks/99/replay", {"from_seq": 1}), ("/webhooks/99/resume", None)]:
        assert (await api.post("admin", path, json=body)).status_code == 404
    assert (
        await api.client.delete("/api/v1/webhooks/99", headers=await api.auth("admin"))
    ).status_code == 404
    hook = await subscribe(api, "http://127.0.0.1:9/x", ["order.*"])
    for body in [{"from_seq": 0}, {"from_seq": 10**9}, {"from_seq": "one"}, {}]:
        response = await api.post("admin", f"/webhooks/{hook['id']}/replay", json=body)
        assert response.status_code == 422, (body, response.text)


async def test_the_secret_is_shown_once_and_kept_sealed(hooks_api: Api) -> None:
    api = hooks_api
    hook = await subscribe(api, "https://hooks.example.com/in", ["return.*"], warehouse_id="WH-CY")
    assert len(hook["secret"]) >= 40
    assert hook["state"] == "active" and hook["lag"] == 0 and hook["created_by"] == "admin"
    again = (await api.get("admin", f"/webhooks/{hook['id']}")).json()
    assert "secret" not in again and all("secret" not in h for h in await listed(api))
    async with api.app.state.runtime.db.read() as session:
        stored = (await session.execute(_SECRET, {"id": hook["id"]})).scalar_one()
    assert stored.startswith("fl1:") and hook["secret"] not in stored
    kinds = {
        e["kind"] for e in (await api.get("admin", "/events?since=0&topics=audit")).json()["events"]
    }
    assert "webhook.created" in kinds


async def test_deliveries_are_signed_in_order_and_within_their_scope(
    hooks_api: Api, tmp_path: Path
) -> None:
    api = hooks_api
    with Receiver(tmp_path / "app.jsonl") as by_channel, Receiver(tmp_path / "cy.jsonl") as by_wh:
        app_hook = await subscribe(api, by_channel.url, ["order.*", "return.*"], channel="app")
        cy_hook = await subscribe(api, by_wh.url, ["order.created"], warehouse_id="WH-CY")
        start = app_hook["cursor"]
        for channel_user, warehouse in [
            ("channel-app", "WH-CY"),
            ("channel-meituan", "WH-CY"),
            ("channel-app", "WH-HD"),
        ]:
            order = await api.create_order(channel_user=channel_user, warehouse_id=warehouse)
            await api.act(channel_user, order, "pay")
        app_seqs = await logged_seqs(
            api,
            start,
            lambda e: (
                e["kind"].split(".")[0] in ("order", "request")
                and e["payload"].get("channel") == "app"
            ),
        )
        cy_seqs = await logged_seqs(
            api, start, lambda e: e["kind"] == "order.created" and e["warehouse_id"] == "WH-CY"
        )
        assert len(app_seqs) >= 4 and len(cy_seqs) == 2
        await eventually(lambda: len(by_channel.accepted()) >= len(app_seqs), "app's deliveries")
        await eventually(lambda: len(by_wh.accepted()) >= len(cy_seqs), "WH-CY's deliveries")
        app_bodies = verified(by_channel.accepted(), app_hook["secret"])
        cy_bodies = verified(by_wh.accepted(), cy_hook["secret"])
    assert [b["seq"] for b in app_bodies] == app_seqs
    assert [b["seq"] for b in cy_bodies] == cy_seqs
    for body in app_bodies + cy_bodies:
        delivery = WebhookDelivery.model_validate(body)
        assert delivery.event.seq == delivery.seq
        assert delivery.id == f"{body['subscription_id']}.{delivery.seq}"
        # As a channel sees it: no staff names, no addresses.
        assert delivery.event.actor == delivery.event.role and delivery.event.client_addr is None
        # Phones as a channel's account sees them in the log: the last digits, never whole.
        assert "13800138000" not in str(body)
    assert {b["event"]["payload"]["channel"] for b in app_bodies} == {"app"}
    assert {b["event"]["warehouse_id"] for b in cy_bodies} == {"WH-CY"}

    # Caught up, as the list shows it once the deliverer has written its progress.
    async def caught_up() -> bool:
        hook = next(h for h in await listed(api) if h["id"] == app_hook["id"])
        return hook["cursor"] >= app_seqs[-1] and hook["last_delivered_at"] is not None

    await eventually(caught_up, "progress written")
    hook = next(h for h in await listed(api) if h["id"] == app_hook["id"])
    assert hook["failures"] == 0 and hook["last_error"] is None


async def test_a_failing_endpoint_is_parked_then_resumed_and_replayed(
    hooks_api: Api, tmp_path: Path
) -> None:
    api = hooks_api
    with Receiver(tmp_path / "hook.jsonl") as receiver:
        receiver.store.status = 503
        hook = await subscribe(api, receiver.url, ["order.*"])
        first = await api.create_order()
        await api.act("channel-app", first, "pay")

        async def parked() -> dict[str, Any] | None:
            now = (await api.get("admin", f"/webhooks/{hook['id']}")).json()
            return now if now["state"] == "parked" else None

        await eventually(parked, "parked after three failures")
        stopped = await parked()
        assert stopped is not None
        assert stopped["failures"] == 3 and "HTTP 503" in stopped["last_error"]
        expected = await logged_seqs(api, hook["cursor"], lambda e: e["kind"].startswith("order."))
        # Held at the first event it could not deliver: nothing after it went first.
        assert stopped["cursor"] == expected[0] - 1 and stopped["lag"] >= len(expected)
        assert receiver.accepted() == []
        audit = (await api.get("admin", "/events?since=0&topics=audit")).json()["events"]
        assert any(e["kind"] == "webhook.parked" for e in audit)

        receiver.store.status = 200
        resumed = await api.post("admin", f"/webhooks/{hook['id']}/resume")
        assert resumed.status_code == 200 and resumed.json()["state"] == "active"
        await eventually(lambda: len(receiver.accepted()) == len(expected), "resumed")
        assert [r["seq"] for r in receiver.accepted()] == expected
        # The backlog went in requests of several events, in order, one request at a time.
        sizes = [len(json.loads(r["body"])["deliveries"]) for r in receiver.accepted()]
        assert max(sizes) > 1

        # Replayed from the first: every one of them again, in order (the receiver drops
        # them as repeats by their delivery id).
        replay = await api.post(
            "admin", f"/webhooks/{hook['id']}/replay", json={"from_seq": expected[0]}
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["cursor"] == expected[0] - 1
        file = tmp_path / "hook.jsonl"
        await eventually(lambda: len(repeats(file)) >= len(expected), "replayed")
        assert repeats(file)[: len(expected)] == [f"{hook['id']}.{seq}" for seq in expected]


async def test_a_deleted_subscription_stops(hooks_api: Api, tmp_path: Path) -> None:
    api = hooks_api
    deliverer = api.app.state.runtime.webhooks
    hook = await subscribe(api, "http://127.0.0.1:9/hook", ["order.*"])
    await eventually(lambda: hook["id"] in deliverer.couriers, "taken by the deliverer")
    response = await api.client.delete(
        f"/api/v1/webhooks/{hook['id']}", headers=await api.auth("admin")
    )
    assert response.status_code == 204
    assert (await api.get("admin", f"/webhooks/{hook['id']}")).status_code == 404
    await eventually(lambda: hook["id"] not in deliverer.couriers, "courier stopped")


_SECRET = __import__("sqlalchemy").text("SELECT secret FROM webhooks WHERE id = :id")
