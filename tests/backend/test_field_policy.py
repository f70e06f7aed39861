"""Phones by role: the field policy (backend/auth/fields.py) as every answer applies it.

A role x field matrix through the real app (SQLite and PostgreSQL): each demo role reads an
order (list, detail, search, the answer to a write) and riders (list, detail, the answer to a
write) and gets the customer's and the rider's phone whole or masked as README's "Phone numbers"
says; then what is kept (idempotency answers, channel receipts, the event log) holds no whole
number, and searching cannot recover one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from backend.auth.fields import FULL, FieldPolicy
from backend.auth.permissions import PERMISSIONS, Permission
from backend.auth.principal import Principal, system_principal
from backend.channels.intake import RECEIPT_LABEL
from backend.crypto.cipher import unseal_json_text
from backend.idempotency import ANSWER_LABEL
from backend_client.models import Role
from backend_client.phones import mask_phone, phone_tail
from tests.backend.channel_support import sample_order, send
from tests.backend.test_permissions import ACCOUNTS
from tests.support import Api, customer

PHONE, MASKED = "13800137474", "138****7474"
RIDER_1_PHONE, RIDER_1_MASKED = "13900000001", "139****0001"  # backend/sim/city.json

WHOLE = frozenset({"admin", "supervisor", "dispatcher", "support"})
"""README: the desk that calls customers and riders."""


def expected_customer_phone(role: str) -> str:
    return PHONE if role in WHOLE else MASKED


def expected_rider_1_phone(role: str) -> str:
    return RIDER_1_PHONE if role in WHOLE or role == "rider" else RIDER_1_MASKED


# --- The policy on its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked", "tail"),
    [
        ("13800137474", "138****7474", "7474"),
        ("+86 138 0013 7474", "+86*******7474", "7474"),
        ("138-0013-7474", "138****7474", "7474"),
        ("12345678", "123*5678", "5678"),
        ("5551234", "*****34", "34"),
        ("138****7474", "138****7474", "7474"),  # masking twice changes nothing
    ],
)
def test_a_masked_phone_shows_its_prefix_and_tail_only(phone: str, masked: str, tail: str) -> None:
    assert mask_phone(phone) == masked
    assert phone_tail(phone) == tail
    assert masked.endswith(tail)


def test_the_policy_of_each_role_follows_the_permission_table() -> None:
    assert {str(r) for r in PERMISSIONS[Permission.PHONES_READ]} == WHOLE
    for role in Role:
        principal = Principal(user_id=1, username=str(role), role=role, rider_id=7)
        policy = FieldPolicy.of(principal)
        assert policy.full_phones == (role in WHOLE), role
        assert policy.customer_phone(PHONE) == expected_customer_phone(role)
        own = policy.rider_phone(7, RIDER_1_PHONE)
        other = policy.rider_phone(8, RIDER_1_PHONE)
        assert own == (RIDER_1_PHONE if role in WHOLE or role == Role.RIDER else RIDER_1_MASKED)
        assert other == (RIDER_1_PHONE if role in WHOLE else RIDER_1_MASKED), role
        assert policy.phone_search_digits == (None if role in WHOLE else 4)
    # A role the table does not know is refused the whole number, not granted it.
    assert not FieldPolicy.of(system_principal()).full_phones
    assert FULL.full_phones


# --- Through the real app --------------------------------------------------------------------


async def order_for_everyone(api: Api) -> dict[str, Any]:
    """An app order at WH-CY, paid and given to rider 1: in every demo account's scope."""
    await api.rider_online(1)
    order = await api.create_order(customer=customer(phone=PHONE), warehouse_id="WH-CY")
    order = await api.act("channel-app", order, "pay")
    return await api.assign(order, 1)


async def answer(api: Api, account: str, path: str, **params: Any) -> Any:
    response = await api.get(account, path, params=params)
    assert response.status_code == 200, f"{account} GET {path}: {response.text}"
    return response.json()


@pytest.mark.parametrize("role", list(ACCOUNTS))
async def test_each_role_reads_phones_as_the_policy_says(api: Api, role: str) -> None:
    account, want = ACCOUNTS[role], expected_customer_phone(role)
    order = await order_for_everyone(api)
    path = f"/orders/{order['id']}"
    listed = (await answer(api, account, "/orders"))["items"]
    assert [o["customer"]["phone"] for o in listed] == [want], "GET /orders"
    detail = await answer(api, account, path)
    assert detail["customer"]["phone"] == want, f"GET {path}"
    found = (await answer(api, account, "/orders", q="7474"))["items"]
    assert [o["customer"]["phone"] for o in found] == [want], "search by the tail"
    if role == "channel":
        return  # riders:read is not a channel's
    riders = {r["id"]: r["phone"] for r in await answer(api, account, "/riders")}
    assert riders[1] == expected_rider_1_phone(role), "GET /riders"
    others = [phone for rider_id, phone in riders.items() if rider_id != 1]
    assert all(("*" in phone) == (role not in WHOLE) for phone in others), others
    rider = await answer(api, account, "/riders/1")
    assert rider["phone"] == expected_rider_1_phone(role), "GET /riders/1"


async def test_the_answers_to_writes_are_masked_as_reads_are(api: Api) -> None:
    await api.rider_online(1)
    for role, account in ACCOUNTS.items():
        if role in ("viewer", "rider"):
            continue  # a viewer writes nothing; the rider's writes come below
        order = await api.create_order(customer=customer(phone=PHONE), warehouse_id="WH-CY")
        if role == "channel":
            assert order["customer"]["phone"] == MASKED, "the channel's POST /orders"
        paid = await api.act("channel-app", order, "pay")
        assert paid["customer"]["phone"] == MASKED, "the channel's pay"
        if role == "merchant":
            picked = await api.act(account, paid, "start_picking")
            assert picked["customer"]["phone"] == MASKED, "the merchant's start_picking"
            continue
        if role == "channel":
            body = {
                "order_id": paid["id"],
                "action": "cancel",
                "version": paid["version"],
                "reason": "changed mind",
            }
            many = await api.post(account, "/orders/transitions", json={"transitions": [body]})
            assert many.status_code == 200, many.text
            assert many.json()["results"][0]["order"]["customer"]["phone"] == MASKED
            continue
        body = {"rider_id": 1, "version": paid["version"]}
        assigned = await api.post(account, f"/orders/{paid['id']}/assign", json=body)
        if role in ("admin", "supervisor", "dispatcher"):
            assert assigned.json()["customer"]["phone"] == PHONE, f"{role}: assign"
    # A rider's own shift change answers with their own number whole.
    status = await api.post("rider-1", "/riders/1/status", json={"status": "break"})
    assert status.status_code == 200, status.text
    assert status.json()["phone"] == RIDER_1_PHONE


async def test_a_replayed_answer_is_kept_masked(api: Api) -> None:
    order = await order_for_everyone(api)
    key = {"Idempotency-Key": "picking-once"}
    body = {"action": "start_picking", "version": order["version"]}
    first = await api.post(
        "merchant-wh-cy", f"/orders/{order['id']}/transitions", json=body, headers=key
    )
    again = await api.post(
        "merchant-wh-cy", f"/orders/{order['id']}/transitions", json=body, headers=key
    )
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["customer"]["phone"] == again.json()["customer"]["phone"] == MASKED
    stored = await every_text(api, "SELECT response FROM idempotency_keys")
    assert stored and PHONE not in stored  # encrypted at rest
    kept = await every_answer(api, "SELECT response FROM idempotency_keys", ANSWER_LABEL)
    assert kept and PHONE not in kept and MASKED in kept  # and masked inside


async def test_a_channel_gets_its_receipt_masked_and_the_receipt_is_kept_so(api: Api) -> None:
    payload = sample_order("app")
    sent_phone = payload["receiver"]["mobile"]
    first = await send(api, "app", "orders", payload)
    again = await send(api, "app", "orders", payload)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    for response in (first, again):
        assert response.json()["order"]["customer"]["phone"] == mask_phone(sent_phone)
        assert sent_phone not in response.text
    assert again.json()["replayed"] is True
    kept = await every_answer(api, "SELECT response FROM channel_orders", RECEIPT_LABEL)
    assert kept and sent_phone not in kept and mask_phone(sent_phone) in kept
    # A receipt kept whole and plain before the policy (an older backend's) is masked when
    # replayed.
    async with api.app.state.runtime.db.engine.begin() as connection:
        kept_whole = kept.replace(mask_phone(sent_phone), sent_phone)
        await connection.execute(text("UPDATE channel_orders SET response = :r"), {"r": kept_whole})
    older = await send(api, "app", "orders", payload)
    assert older.status_code == 201 and older.json()["replayed"] is True, older.text
    assert sent_phone not in older.text
    # The desk still reads it whole.
    order_id = first.json()["order"]["id"]
    desk = await answer(api, "dispatcher", f"/orders/{order_id}")
    assert desk["customer"]["phone"] == sent_phone


async def test_a_masked_account_cannot_search_its_way_to_a_whole_number(api: Api) -> None:
    order = await order_for_everyone(api)
    for role, account in ACCOUNTS.items():
        for guess in (PHONE, PHONE[-5:], PHONE[-8:]):
            found = [o["id"] for o in (await answer(api, account, "/orders", q=guess))["items"]]
            # The desk finds the customer by any run of digits; nobody else by more than
            # the four digits they are shown.
            assert (found == [order["id"]]) == (role in WHOLE), f"{role} q={guess}"
        found = [o["id"] for o in (await answer(api, account, "/orders", q="7474"))["items"]]
        assert found == [order["id"]], f"{role} q=7474"


async def test_the_event_log_and_the_stream_hold_no_whole_number(api: Api) -> None:
    order = await order_for_everyone(api)
    await api.act("dispatcher", order, "start_picking")
    log = await every_text(api, "SELECT payload FROM events")
    assert PHONE not in log and PHONE[-8:] not in log
    for role, account in ACCOUNTS.items():
        timeline = await api.get(account, f"/orders/{order['id']}/timeline")
        assert timeline.status_code == 200, timeline.text
        assert PHONE not in timeline.text, role
        events = await api.get(account, "/events", params={"topics": "orders", "since": 0})
        assert events.status_code == 200, events.text
        assert PHONE not in events.text, role
        made = [e for e in events.json()["events"] if e["kind"] == "order.created"]
        assert {e["payload"]["phone_tail"] for e in made} <= {"7474"}, role
        # A rider hears of an order once it is theirs, a merchant once it is paid (its stages).
        assert made or role in ("rider", "merchant"), role


async def every_answer(api: Api, sql: str, label: str) -> str:
    """Every stored answer of one column, decrypted, as one text."""
    async with api.app.state.runtime.db.read() as session:
        rows = (await session.execute(text(sql))).scalars().all()
    return "\n".join(unseal_json_text(r, label) for r in rows)


async def every_text(api: Api, sql: str) -> str:
    """Every value of one column, as one text (JSON columns as their JSON)."""
    async with api.app.state.runtime.db.read() as session:
        rows = (await session.execute(text(sql))).scalars().all()
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows)
