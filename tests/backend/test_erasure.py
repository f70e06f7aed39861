"""A customer's erasure: `DELETE /customers/{id}` leaves no trace of their name, phone or
address in any table, stored answer, database file or log line; the numbers stay."""

from __future__ import annotations

import copy
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backend.channels.examples import ORDERS
from backend.models import Base
from backend.realtime.feed import EventFeed
from backend_client import FreshlineClient, NotFound
from tests.backend.channel_support import send
from tests.support import Api, customer, eventually

NAME = "Qiao Lianhua"
PHONE = "13911172635"
ADDRESS = "Jade Lane 7, Chaoyang"
SECRETS = (NAME, PHONE, ADDRESS, NAME.split()[1])


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything the backend logs while the test runs, in a file (as `log_file` writes it)."""
    path = tmp_path / "freshline.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what `freshline serve` logs
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def app_order(number: int) -> dict[str, Any]:
    """The app channel's sample order, for our customer."""
    payload = copy.deepcopy(ORDERS["app"])
    payload["orderNo"] = f"APP-ERASE-{number}"
    payload["expectedArrival"] = "2026-11-22T12:00:00Z"
    payload["receiver"].update(name=NAME, mobile=PHONE, address=ADDRESS)
    return payload


async def every_value(api: Api) -> str:
    """Every row of every table, as text, straight from the database."""
    found = []
    async with api.app.state.runtime.db.read() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(text(f'SELECT * FROM "{table.name}"'))
            found.extend(repr(tuple(row)) for row in rows)
    return "\n".join(found)


def sqlite_bytes(api: Api) -> bytes:
    """The SQLite database's files as bytes, after writing the WAL back (`TRUNCATE`)."""
    url = api.app.state.runtime.settings.database_url
    path = Path(url.removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_an_erased_customer_leaves_no_trace_and_the_numbers_stay(
    api: Api, log_file: Path
) -> None:
    body = {
        "external_id": "ERASE-1",
        "customer": customer(name=NAME, phone=PHONE, address=ADDRESS),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
    }
    created = await api.post(
        "channel-app", "/orders", json=body, headers={"Idempotency-Key": "erase-me-1"}
    )
    assert created.status_code == 201, created.text
    order = created.json()
    api.clock.advance(minutes=16)  # unpaid this long: an alert, titled with her name
    assert await api.app.state.runtime.alerts.evaluate() == 1
    order = await api.act("channel-app", order, "cancel", reason=f"{NAME} changed her mind")
    taken = await send(api, "app", "orders", app_order(1))
    assert taken.status_code == 201, taken.text
    channel_order = taken.json()["order"]
    signed = await api.act("dispatcher", channel_order, "start_picking")
    await api.rider_online(1)
    signed = await api.assign(signed, 1)
    signed = await api.act("rider-1", signed, "dispatch")
    api.clock.advance(minutes=1)
    doorstep = [  # the rider at her door, to the metre
        {"lat": 39.936123, "lng": 116.455187, "at": (api.clock.now() - timedelta(seconds=s))}
        for s in (20, 10)
    ]
    for fix, nudge in zip(doorstep, (0.0, 0.000011), strict=True):
        fix["lat"] += nudge
        fix["at"] = fix["at"].isoformat()
    fixes = await api.post("rider-1", "/riders/1/positions", json={"points": doorstep})
    assert fixes.status_code == 200, fixes.text
    signed = await api.act("rider-1", signed, "sign")
    customer_id = order["customer"]["id"]
    assert channel_order["customer"]["id"] == customer_id  # the same phone: the same customer

    # Encrypted at rest: the phone and the address are nowhere in plain text, even before.
    stored = await every_value(api)
    assert PHONE not in stored and ADDRESS not in stored
    assert NAME in stored  # the events' and the alert's copy: plain until the erasure
    assert (await api.get("dispatcher", "/orders", params={"q": PHONE[-4:]})).json()["items"]

    kpis_before = (await api.get("admin", "/kpi/summary")).json()
    events_before = await api.event_count()
    erased = await api.client.delete(
        f"/api/v1/customers/{customer_id}", headers=await api.auth("admin")
    )
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert answer["customer_id"] == customer_id and answer["erased_by"] == "admin"
    assert sorted(answer["orders"]) == sorted([order["id"], channel_order["id"]])

    again = await api.client.delete(
        f"/api/v1/customers/{customer_id}", headers=await api.auth("admin")
    )
    assert again.status_code == 200 and again.json() == answer  # idempotent
    assert await api.event_count() == events_before + 1  # one `customer.erased`, audited once
    assert (await api.get("admin", "/kpi/summary")).json() == kpis_before

    track = (await api.get("admin", f"/orders/{channel_order['id']}/track")).json()
    assert [(p["lat"], p["lng"]) for p in track["points"]] == [(39.936, 116.455)] * 2
    seen = (await api.get("admin", f"/orders/{order['id']}")).json()
    assert seen["customer"]["name"] == f"erased customer {customer_id}"
    assert seen["customer"]["phone"] == "" and seen["address"] == "erased"
    assert seen["amount_cents"] == order["amount_cents"] and seen["status"] == "CANCELLED"
    for q in (PHONE[-4:], NAME.split()[0].lower(), NAME.lower()):
        assert (await api.get("dispatcher", "/orders", params={"q": q})).json()["items"] == [], q
    timeline = (await api.get("admin", f"/orders/{channel_order['id']}/timeline")).json()
    assert [e["kind"] for e in timeline][:1] == ["order.created"]
    audit = (await api.get("admin", "/events", params={"since": 0, "topics": "audit"})).json()
    assert any(e["kind"] == "customer.erased" for e in audit["events"])
    # The events held in memory for replays are rewritten as the log was.
    replayed = await api.get("admin", "/events", params={"since": 0, "topics": "orders"})
    assert replayed.json()["events"] and NAME not in replayed.text
    assert f"erased customer {customer_id}" in replayed.text

    # A retry of the channel's order and of the idempotent POST answer the pseudonym.
    replay = await send(api, "app", "orders", app_order(1))
    assert replay.status_code == 201 and replay.json()["replayed"] is True
    assert NAME not in replay.text and PHONE not in replay.text
    stored = await every_value(api)
    for secret in SECRETS:
        assert secret not in stored, f"{secret!r} still in the database"
    if api.app.state.runtime.db.dialect == "sqlite":
        raw = sqlite_bytes(api)
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} still in the database file"
    logged = text_of(log_file)
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} in the log"


async def test_erasure_refuses_what_it_must(api: Api) -> None:
    mine = await api.create_order(customer=customer(name=NAME, phone=PHONE, address=ADDRESS))
    customer_id = mine["customer"]["id"]

    async def delete(account: str, cid: int) -> int:
        response = await api.client.delete(
            f"/api/v1/customers/{cid}", headers=await api.auth(account)
        )
        return response.status_code

    assert await delete("admin", 999_999) == 404
    assert await delete("viewer", customer_id) == 403
    assert await delete("dispatcher", customer_id) == 403
    assert await delete("channel-meituan", customer_id) == 403  # another channel's customer
    assert await delete("admin", customer_id) == 409  # an order still open: nothing changed
    assert (await api.get("admin", f"/orders/{mine['id']}")).json()["customer"]["name"] == NAME

    await api.act("channel-app", mine, "cancel", reason="test order")
    shared = await api.create_order(
        channel_user="channel-meituan", customer=customer(name=NAME, phone=PHONE)
    )
    await api.act("channel-meituan", shared, "cancel", reason="test order")
    assert await delete("channel-app", customer_id) == 403  # meituan's customer too
    assert await delete("channel-app", 999_999) == 404

    own = await api.create_order(customer=customer(name="Lone Buyer", phone="13500001111"))
    await api.act("channel-app", own, "cancel", reason="test order")
    assert await delete("channel-app", own["customer"]["id"]) == 200
    again = await api.create_order(customer=customer(name="Lone Buyer", phone="13500001111"))
    assert again["customer"]["id"] != own["customer"]["id"]  # the erased one is not found again


async def test_the_client_erases_through_its_customers_group(api: Api) -> None:
    order = await api.create_order(customer=customer(name=NAME, phone=PHONE, address=ADDRESS))
    await api.act("channel-app", order, "cancel", reason="test order")
    async with FreshlineClient(
        "http://testserver",
        token=await api.token("channel-app"),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        erased = await client.customers.erase(order["customer"]["id"])
        assert erased == await client.customers.erase(order["customer"]["id"])
        with pytest.raises(NotFound):
            await client.customers.erase(999_999)
    assert erased.orders == [order["id"]] and erased.erased_by == "channel-app"


async def test_another_instance_reads_its_held_events_of_the_erased_orders_again(
    api: Api,
) -> None:
    """Another instance on the same database holds the newest events for replays too: the
    erasure's own event makes it read the erased orders' events again from the log."""
    order = await api.create_order(customer=customer(name=NAME, phone=PHONE, address=ADDRESS))
    await api.act("channel-app", order, "cancel", reason=f"{NAME} changed her mind")
    runtime = api.app.state.runtime
    other = EventFeed(runtime.db, ring_size=1000, poll_seconds=3600)
    await other.start()
    try:
        other.last_seq = 0  # hold the whole log, as an instance that has been up all along
        await other.catch_up()

        def held() -> str:
            return "\n".join(item.body + item.redacted_body for item in other.ring)

        assert NAME in held()
        response = await api.client.delete(
            f"/api/v1/customers/{order['customer']['id']}", headers=await api.auth("admin")
        )
        assert response.status_code == 200, response.text
        await other.catch_up()  # as the bus's announcement or the next poll would have it
        await eventually(lambda: not any(s in held() for s in SECRETS), "held events rewritten")
        assert any(item.event["kind"] == "customer.erased" for item in other.ring)
    finally:
        await other.stop()
