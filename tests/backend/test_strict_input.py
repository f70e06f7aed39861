"""Strict input: what the schema forbids is refused (422 naming the field) and changes nothing.

Out-of-range dates on every read that takes one, lax coercions the schema does not allow
(`"1"` for an integer, `0` for a boolean, a number for a date), names that spoof the screen
(only invisible characters, direction overrides), and a channel callback id reused with other
content (409, as for a channel order id). The `Cases` of test_bad_input.py check each answer
and that the event log did not move. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import unicodedata

from tests.backend.channel_support import sample_callback, sample_order, send
from tests.backend.test_bad_input import Cases, snapshot
from tests.support import Api, customer

YEAR_1 = "0001-01-01T00:00:00+14:00"
YEAR_9999 = "9999-12-31T23:59:59-14:00"

# (path, query, the parameter the 422 must name): every read that takes a time or a day.
OUT_OF_RANGE: list[tuple[str, dict[str, str], str]] = [
    ("/orders", {"updated_since": YEAR_1}, "updated_since"),
    ("/orders", {"updated_since": YEAR_9999}, "updated_since"),
    ("/alerts", {"updated_since": YEAR_1}, "updated_since"),
    ("/alerts", {"updated_since": YEAR_9999}, "updated_since"),
    ("/riders/1/track", {"since": YEAR_1}, "since"),
    ("/riders/1/track", {"until": YEAR_9999}, "until"),
    (
        "/riders/1/track",
        {"since": "0001-01-01T00:00:00Z", "until": "0001-01-01T01:00:00Z"},
        "since",
    ),
    ("/kpi/summary", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start"),
    ("/kpi/series", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start"),
    ("/kpi/exceptions", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start"),
    ("/kpi/summary", {"end": YEAR_1}, "end"),
    ("/kpi/reconciliation", {"day": "9999-12-31"}, "day"),
    ("/kpi/reconciliation", {"day": "0001-01-01"}, "day"),
    ("/channels/reconciliation", {"day": "0001-01-01"}, "day"),
    ("/channels/reconciliation", {"day": "9999-12-31"}, "day"),
    ("/channels/reconciliation.csv", {"day": "0001-01-01"}, "day"),
    ("/channels/reconciliation.csv", {"day": "9999-12-31"}, "day"),
]

# Numbers where the schema says a date-time or a date: lax parsing read them as Unix time.
NOT_A_TIME: list[tuple[str, dict[str, str], str]] = [
    ("/orders", {"updated_since": "0"}, "updated_since"),
    ("/orders", {"updated_since": "1795341780"}, "updated_since"),
    ("/alerts", {"updated_since": "1795341780.5"}, "updated_since"),
    ("/riders/1/track", {"until": "0.5"}, "until"),
    ("/riders/1/track", {"since": "1795341780"}, "since"),
    ("/kpi/series", {"start": "1795341780"}, "start"),
    ("/kpi/reconciliation", {"day": "0"}, "day"),
    ("/channels/reconciliation", {"day": "0"}, "day"),
    ("/channels/reconciliation.csv", {"day": "20261122"}, "day"),
]


def names_field(response_text: str, field: str) -> bool:
    """The 422 says which field: FastAPI's `loc`, or our sentence naming it."""
    body = json.loads(response_text)
    detail = body.get("detail")
    if isinstance(detail, list):
        return any(field in [str(part) for part in error.get("loc", [])] for error in detail)
    return field in str(detail) or body.get("field") == field


async def test_out_of_range_and_numeric_dates_on_reads_are_422_naming_the_field(api: Api) -> None:
    cases = Cases(api)
    for path, params, field in OUT_OF_RANGE + NOT_A_TIME:
        response = await cases.send(
            f"GET {path} {params}", "admin", path, method="GET", params=params
        )
        named = response is None or response.status_code != 422 or names_field(response.text, field)
        if not named:
            assert response is not None
            cases.problems.append(
                f"GET {path} {params}: 422 does not name {field}: {response.text}"
            )
    # The edges of the range and ordinary values are still read.
    for path, params in [
        ("/orders", {"updated_since": "2000-01-01T00:00:00Z"}),
        ("/alerts", {"updated_since": "2026-11-22T10:00:00+08:00"}),
        ("/riders/1/track", {"since": "2026-11-22T09:00:00Z", "until": "2026-11-22T10:00:00Z"}),
        ("/kpi/summary", {"start": "2026-11-21T10:00:00Z", "end": "2026-11-22T10:00:00Z"}),
        ("/kpi/reconciliation", {"day": "2026-11-22"}),
        ("/channels/reconciliation", {"day": "2000-01-01"}),
        ("/channels/reconciliation.csv", {"day": "2026-11-22"}),
    ]:
        await cases.send(f"GET {path} {params}", "admin", path, (200,), method="GET", params=params)
    cases.done()


async def test_out_of_range_times_in_bodies_are_422(api: Api) -> None:
    await api.rider_online(1)
    before = await snapshot(api)
    cases = Cases(api)
    point = {"lat": 39.93, "lng": 116.45}
    for at in (YEAR_1, YEAR_9999, 0, 1795341780, "1795341780"):
        await cases.send(
            f"position at {at!r}",
            "rider-1",
            "/riders/1/positions",
            json={"points": [{**point, "at": at}]},
        )
    cases.done()
    assert await snapshot(api) == before


async def test_lax_coercions_the_schema_forbids_are_refused(api: Api) -> None:
    order = await api.create_order()
    order = await api.act("channel-app", order, "pay")
    await api.rider_online(1)
    before = await snapshot(api)
    cases = Cases(api)
    stock = "/warehouses/WH-CY/stock/VEG-BOKCHOY/adjust"
    transition = f"/orders/{order['id']}/transitions"
    body = {
        "external_id": "STRICT-1",
        "customer": customer(),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
    }
    for label, user, method, path, sent in [
        ("auto_dispatch 0", "admin", "PUT", "/warehouses/WH-CY/dispatch", {"auto_dispatch": 0}),
        (
            "auto_dispatch 'true'",
            "admin",
            "PUT",
            "/warehouses/WH-CY/dispatch",
            {"auto_dispatch": "true"},
        ),
        ("delta '1'", "admin", "POST", stock, {"delta": "1", "reason": "recount"}),
        ("delta 1.0", "admin", "POST", stock, {"delta": 1.0, "reason": "recount"}),
        (
            "version '2'",
            "dispatcher",
            "POST",
            transition,
            {"action": "start_picking", "version": str(order["version"])},
        ),
        (
            "rider_id '1'",
            "dispatcher",
            "POST",
            f"/orders/{order['id']}/assign",
            {"rider_id": "1", "version": order["version"]},
        ),
        (
            "quantity '2'",
            "channel-app",
            "POST",
            "/orders",
            {**body, "items": [{"sku": "VEG-BOKCHOY", "quantity": "2"}]},
        ),
        (
            "lat as text",
            "channel-app",
            "POST",
            "/orders",
            {**body, "customer": customer(lat="39.9361")},
        ),
        ("active 1", "admin", "PATCH", "/users/2", {"active": 1}),
        ("snooze minutes '15'", "admin", "POST", "/alerts/1/snooze", {"minutes": "15"}),
    ]:
        await cases.send(
            label, user, path, (404, 422) if "alerts" in path else (422,), method=method, json=sent
        )
    cases.done()
    assert await snapshot(api) == before
    # The right types still go through, and a float where the schema says number takes an int.
    response = await api.client.put(
        "/api/v1/warehouses/WH-CY/dispatch",
        headers=await api.auth("admin"),
        json={"auto_dispatch": False},
    )
    assert response.status_code == 200, response.text
    response = await api.post(
        "channel-app", "/orders", json={**body, "customer": customer(lat=40, lng=116)}
    )
    assert response.status_code == 201, response.text


SPOOFING_NAMES = [
    ("zero-width only", "\u200b\u200b"),
    ("zero-width joiners and spaces", " \u200d \u200c\u2060 "),
    ("byte order mark", "\ufeff"),
    ("Hangul filler", "\u3164"),
    ("right-to-left override", "\u202eanaW"),
    ("override inside", "Wang\u202eFang"),
    ("isolate", "\u2066Wang\u2069"),
    ("embedding", "\u202bWang\u202c"),
]


async def test_names_that_spoof_the_screen_are_refused(api: Api) -> None:
    before = await snapshot(api)
    cases = Cases(api)
    for n, (label, name) in enumerate(SPOOFING_NAMES):
        body = {
            "external_id": f"SPOOF-{n}",
            "customer": customer(name=name),
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        }
        response = await cases.send(f"customer name {label}", "channel-app", "/orders", json=body)
        if (
            response is not None
            and response.status_code == 422
            and not names_field(response.text, "name")
        ):
            cases.problems.append(
                f"customer name {label}: 422 does not name the field: {response.text}"
            )
        rider = {"name": name, "phone": "13900000000", "warehouse_id": "WH-CY", "capacity": 3}
        await cases.send(f"rider name {label}", "admin", "/riders", json={"riders": [rider]})
    # The same through a channel's own payload: refused, naming our field and theirs.
    payload = sample_order("app")
    payload["receiver"]["name"] = "\u202eanaW"
    response = await send(api, "app", "orders", payload)
    if response.status_code != 422 or "name" not in response.text:
        cases.problems.append(f"app order with an override: {response.status_code} {response.text}")
    cases.done()
    assert (await snapshot(api))["orders"] == before["orders"]


async def test_names_are_normalised(api: Api) -> None:
    decomposed = "Zoe\u0301 \u200bLi"  # e + combining acute, a zero-width space inside
    order = await api.create_order(customer=customer(name=decomposed))
    stored = (await api.get("admin", f"/orders/{order['id']}")).json()["customer"]["name"]
    assert stored == "Zoé Li"
    assert unicodedata.is_normalized("NFC", stored)
    # Text around the letters that is invisible is gone; letters of any script stay.
    order = await api.create_order(customer=customer(name="\u200b王芳\u200d"))
    assert (await api.get("admin", f"/orders/{order['id']}")).json()["customer"]["name"] == "王芳"
    # Joiners inside an emoji sequence or an Indic word are part of what is written.
    for kept in ("क्\u200dष", "👩\u200d🌾 Li"):
        order = await api.create_order(customer=customer(name=kept))
        assert (await api.get("admin", f"/orders/{order['id']}")).json()["customer"]["name"] == kept


async def test_a_reused_callback_id_with_other_content_is_409(api: Api) -> None:
    placed = await send(api, "app", "orders", sample_order("app") | {"payStatus": "UNPAID"})
    assert placed.status_code == 201, placed.text
    paid = {
        "eventId": "EV-reuse-1",
        "orderNo": "APP-20261122-0001",
        "event": "PAID",
        "occurredAt": "2026-11-22T10:01:00Z",
    }
    first = await send(api, "app", "callbacks", paid)
    assert first.status_code == 200 and first.json()["outcome"] == "applied", first.text
    events = await api.event_count()
    # A retry, byte for byte or with its keys in another order, answers the first answer.
    retried = await send(api, "app", "callbacks", dict(reversed(paid.items())))
    assert retried.status_code == 200, retried.text
    assert (retried.json()["outcome"], retried.json()["replayed"]) == ("applied", True)
    # The same id with other content is a different callback: 409, nothing done.
    for label, changed in [
        ("another event", paid | {"event": "CANCELLED_BY_USER"}),
        ("another time", paid | {"occurredAt": "2026-11-22T10:02:00Z"}),
        ("another order", paid | {"orderNo": "APP-20261122-0002"}),
        ("a reason added", paid | {"reason": "late"}),
    ]:
        response = await send(api, "app", "callbacks", changed)
        assert response.status_code == 409, (label, response.text)
        assert "EV-reuse-1" in response.json()["detail"], response.text
    assert await api.event_count() == events
    order = (await api.get("admin", f"/orders/{placed.json()['order']['id']}")).json()
    assert order["status"] == "PAID"
    # A daily statement too: the same id with other totals is refused, the first totals kept.
    bill = sample_callback("app") | {
        "eventId": "EV-bill-1",
        "event": "DAILY_TOTALS",
        "day": "2026-11-22",
        "orderCount": 3,
        "amountCents": 10410,
    }
    bill.pop("orderNo")
    bill.pop("reason")
    first = await send(api, "app", "callbacks", bill)
    assert first.status_code == 200, first.text
    other = await send(api, "app", "callbacks", bill | {"orderCount": 4})
    assert other.status_code == 409, other.text
    again = await send(api, "app", "callbacks", bill)
    assert again.status_code == 200 and again.json()["replayed"], again.text
