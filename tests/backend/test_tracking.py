"""The customer's tracking link through the real app (SQLite, and PostgreSQL in the slow run):
the token minted with the order and shown to who may see it, the customer-safe view in each
state, the scope matrix (a link never reveals another order, rider or customer), expiry on an
injected clock, rate limits, the rider asking and the customer's signature landing as proof."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from backend.clock import ManualClock
from backend.tracking.tokens import NO_SUCH_LINK
from tests.backend.test_eta_and_geofences import delivering, fix, north
from tests.support import Api, customer, started

HOME = north(3000)


def token_of(order: dict[str, Any]) -> str:
    url = order["tracking_url"]
    assert url.startswith("/t/")
    return str(url.removeprefix("/t/"))


async def view(api: Api, token: str, expect: int = 200) -> dict[str, Any]:
    response = await api.client.get(f"/api/v1/track/{token}")
    assert response.status_code == expect, response.text
    return dict(response.json())


def signature_png(width: int = 300, height: int = 120) -> str:
    image = Image.new("L", (width, height), 255)
    for x in range(20, 280):
        image.putpixel((x, 60 + (x % 20) - 10), 0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def sign(api: Api, token: str, png: str | None = None) -> Any:
    return await api.client.post(
        f"/api/v1/track/{token}/signature", json={"signature_png": png or signature_png()}
    )


# --- The link ----------------------------------------------------------------------------------


async def test_the_link_is_minted_with_the_order_and_shown_only_to_who_may_send_it(
    api: Api,
) -> None:
    order = await api.create_order()
    token = token_of(order)  # the channel that made it gets it, to send to the customer
    assert len(token) >= 32  # 192 random bits, URL-safe
    for account in ("admin", "supervisor", "dispatcher", "support", "channel-app"):
        shown = (await api.get(account, f"/orders/{order['id']}")).json()
        assert shown["tracking_url"] == order["tracking_url"], account
    await api.act("channel-app", order, "pay")  # the store sees it from here on
    for account in ("viewer", "merchant-wh-cy"):
        shown = (await api.get(account, f"/orders/{order['id']}")).json()
        assert shown["tracking_url"] is None, account
    # Lists and the stream never carry it: only the order's detail and the answer to creating.
    listed = (await api.get("dispatcher", "/orders")).json()["items"]
    assert all(o.get("tracking_url") is None for o in listed)


async def test_the_token_is_kept_encrypted_and_found_by_its_keyed_hash(api: Api) -> None:
    order = await api.create_order()
    token = token_of(order)
    async with api.app.state.runtime.db.read() as session:
        stored = (
            await session.execute(
                text("SELECT token, token_index FROM tracking_links WHERE order_id = :o"),
                {"o": order["id"]},
            )
        ).one()
    assert token not in stored[0] and token not in stored[1]
    assert stored[0].startswith("fl1:")
    assert (await view(api, token))["reference"] == order["external_id"]


# --- The view, state by state ---------------------------------------------------------------------


async def test_the_view_shows_what_the_customer_needs_in_each_state(api: Api) -> None:
    await api.rider_online(1)
    order = await api.create_order(customer=customer(phone="13911112222", lat=HOME[0], lng=HOME[1]))
    token = token_of(order)
    created = await view(api, token)
    assert created["status"] == "CREATED"
    assert [s["state"] for s in created["stages"]] == ["CREATED"]
    assert created["rider"] is None and created["rider_position"] is None
    assert created["eta"] is None and created["track"] == []
    assert created["items"] == [{"name": "Bok choy", "quantity": 2, "unit": "bunch"}]
    assert created["can_sign"] is False and created["pin"] is None

    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, 1)
    await fix(api, 1, north(-2500, HOME))  # at the store, before leaving with it
    picking = await view(api, token)
    assert picking["status"] == "PICKING"
    assert picking["rider"] == {"first_name": "Li", "phone": "139****0001"}
    assert picking["rider_position"] is None  # only while DELIVERING

    order = await api.act("rider-1", order, "dispatch")
    api.clock.advance(seconds=30)
    await fix(api, 1, north(-2000, HOME))
    out = await view(api, token)
    assert out["status"] == "DELIVERING"
    assert [s["state"] for s in out["stages"]] == ["CREATED", "PAID", "PICKING", "DELIVERING"]
    assert out["rider_position"]["lat"] == pytest.approx(north(-2000, HOME)[0])
    assert out["eta"] is not None  # the ETA the desk's board shows
    timeline = (await api.get("dispatcher", f"/orders/{order['id']}/timeline")).json()
    [eta_event] = [e for e in timeline if e["kind"] == "order.eta"]
    assert out["eta"].replace("Z", "+00:00") == eta_event["payload"]["eta"]
    assert out["track"] and out["track"][-1]["lat"] == out["rider_position"]["lat"]
    assert out["pin"] is not None and len(out["pin"]) == 6  # the customer's, for the rider
    assert out["can_sign"] is False  # the rider is 2 km away and has not asked

    for distance in (400, 100):
        api.clock.advance(seconds=30)
        await fix(api, 1, north(-distance, HOME))
    at_door = await view(api, token)
    assert at_door["arrived"] is True and at_door["can_sign"] is True

    order = await api.act("rider-1", order, "sign")
    signed = await view(api, token)
    assert signed["status"] == "SIGNED"
    assert signed["rider_position"] is None and signed["track"] == []
    assert signed["eta"] is None and signed["pin"] is None and signed["can_sign"] is False


# --- Scope: a link reveals its own order and nothing else -----------------------------------------


SECRETS = ("Wang Fang", "13800138000", "13911113333", "Zhou Min", "Sanlitun", "Li Fang")


async def test_token_scope_matrix(api: Api) -> None:
    await api.rider_online(1)
    await api.rider_online(2)
    a = await delivering(api, 1, promise_minutes=60, to=HOME, phone="13911113333")
    b = await api.create_order(customer=customer(name="Zhou Min", phone="13922224444"))
    b = await api.act("channel-app", b, "pay")
    b = await api.act("dispatcher", b, "start_picking")
    b = await api.assign(b, 2)
    b = await api.act("rider-2", b, "dispatch")
    await fix(api, 1, north(-1500, HOME))
    await fix(api, 2, north(500))
    token_a = token_of((await api.get("dispatcher", f"/orders/{a['id']}")).json())
    token_b = token_of((await api.get("dispatcher", f"/orders/{b['id']}")).json())
    assert token_a != token_b

    seen_a, seen_b = await view(api, token_a), await view(api, token_b)
    assert seen_a["reference"] == a["external_id"] and seen_b["reference"] == b["external_id"]
    for seen, other, other_rider in ((seen_a, b, "139****0002"), (seen_b, a, "139****0001")):
        body = str(seen)
        # Nothing of the other order, its rider or either customer; no ids at all.
        assert other["external_id"] not in body and other_rider not in body
        for secret in (*SECRETS, "Zhou Min", "13922224444"):
            assert secret not in body, secret
        assert "id" not in seen and "order_id" not in body and "rider_id" not in body
    assert seen_a["rider_position"]["lat"] == pytest.approx(north(-1500, HOME)[0])
    assert seen_b["rider_position"]["lat"] == pytest.approx(north(500)[0])

    # Unknown, malformed, one character off, a staff bearer token, another order's id: 404, the
    # same answer, on every route of the link.
    off = token_a[:-1] + ("A" if token_a[-1] != "A" else "B")
    bearer = await api.token("admin")
    for bad in (off, "x" * 32, "short", str(a["id"]), bearer, "%2E%2E%2Forders%2F1", "%00" * 11):
        for method, path in (
            ("GET", f"/api/v1/track/{bad}"),
            ("GET", f"/api/v1/track/{bad}/map"),
            ("POST", f"/api/v1/track/{bad}/signature"),
        ):
            body = {"signature_png": signature_png()} if method == "POST" else None
            response = await api.client.request(method, path, json=body)
            assert response.status_code == 404, (bad, path, response.text)
            if "%" not in bad:  # those match no route at all: a plain 404
                assert response.json() == {"detail": NO_SUCH_LINK}
    page = await api.client.get(f"/t/{off}")
    assert page.status_code == 404 and "expired" in page.text

    # A staff token opens no link, and a link opens no staff route.
    response = await api.client.get(f"/api/v1/orders/{a['id']}", headers={"Authorization": token_a})
    assert response.status_code == 401
    response = await api.client.get(
        f"/api/v1/track/{token_a}", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.json()["reference"] == a["external_id"]  # the header changes nothing


async def test_signing_through_one_link_never_touches_another_order(api: Api) -> None:
    await api.rider_online(1)
    a = await delivering(api, 1, promise_minutes=60, to=HOME, phone="13911113333")
    b = await delivering(api, 1, promise_minutes=70, to=north(500, HOME), phone="13911114444")
    await api.post("rider-1", f"/orders/{b['id']}/signature-request")
    token_a = token_of((await api.get("dispatcher", f"/orders/{a['id']}")).json())
    # B's rider asked, not A's: A's link cannot sign, and B stays unsigned.
    response = await sign(api, token_a)
    assert response.status_code == 409, response.text
    token_b = token_of((await api.get("dispatcher", f"/orders/{b['id']}")).json())
    assert (await view(api, token_b))["signed"] is False


# --- Expiry ---------------------------------------------------------------------------------------


async def test_a_link_dies_its_ttl_after_the_order_ends_and_answers_like_an_unknown_one(
    api: Api,
) -> None:
    order = await api.create_order()
    token = token_of(order)
    api.clock.advance(hours=11)  # an open order's link lives on, however long it takes
    assert (await view(api, token))["status"] == "CREATED"
    await api.act("channel-app", order, "cancel", reason="customer changed their mind")
    api.clock.advance(hours=23, minutes=59)
    assert (await view(api, token))["status"] == "CANCELLED"
    api.clock.advance(minutes=1)  # tracking_ttl_hours_after_final: 24
    gone = await api.client.get(f"/api/v1/track/{token}")
    unknown = await api.client.get(f"/api/v1/track/{'Q' * 32}")
    assert gone.status_code == unknown.status_code == 404
    assert gone.json() == unknown.json() == {"detail": NO_SUCH_LINK}
    assert (await api.client.get(f"/t/{token}")).status_code == 404
    # Nor is the dead link shown to the desk any more.
    detail = (await api.get("support", f"/orders/{order['id']}")).json()
    assert detail["tracking_url"] is None


# --- Rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_rate_limited_per_link_and_per_address(database_url: str) -> None:
    clock = ManualClock()
    limits = {
        "tracking_views_per_minute_per_token": 3,
        "tracking_views_per_minute_per_address": 5,
    }
    async for api in started(database_url, clock, **limits):
        one = token_of(await api.create_order())
        two = token_of(await api.create_order())
        for _ in range(3):
            await view(api, one)
        refused = await api.client.get(f"/api/v1/track/{one}")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "link" in refused.json()["detail"]
        # Another link from the same address: one more (the refused call counted too), then
        # the address is spent, for any link, known or not (a script walking tokens is stopped
        # by its address before any look-up).
        await view(api, two)
        for spent in (two, "Z" * 32):
            refused = await api.client.get(f"/api/v1/track/{spent}")
            assert refused.status_code == 429 and "address" in refused.json()["detail"]


# --- The rider asks, the customer signs -----------------------------------------------------------


async def test_the_rider_asks_and_the_drawn_signature_lands_as_proof(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=HOME, phone="13911115555")
    token = token_of((await api.get("dispatcher", f"/orders/{order['id']}")).json())
    assert (await sign(api, token)).status_code == 409  # not arrived, not asked

    for account, expect in (("merchant-wh-cy", 403), ("rider-2", 404), ("viewer", 403)):
        response = await api.post(account, f"/orders/{order['id']}/signature-request")
        assert response.status_code == expect, (account, response.text)
    asked = await api.post("rider-1", f"/orders/{order['id']}/signature-request")
    assert asked.status_code == 200, asked.text
    assert (await view(api, token))["can_sign"] is True

    for bad, status in (
        ("data:image/png;base64,@@@", 422),
        ("data:image/png;base64," + base64.b64encode(b"not a png").decode(), 422),
        ("data:image/jpeg;base64,AAAA", 422),
    ):
        response = await sign(api, token, bad)
        assert response.status_code == status, response.text
    assert (await view(api, token))["signed"] is False  # nothing recorded by the refusals

    signed = await sign(api, token)
    assert signed.status_code == 201, signed.text
    assert signed.json()["reference"] == order["external_id"]
    async with api.app.state.runtime.db.read() as session:
        proofs = (
            await session.execute(
                text("SELECT kind, taken_role, sha256 FROM proofs WHERE order_id = :o"),
                {"o": order["id"]},
            )
        ).all()
    assert [(p[0], p[1]) for p in proofs] == [("signature", "customer")]
    assert proofs[0][2] is not None
    assert (await sign(api, token)).status_code == 409  # once
    seen = await view(api, token)
    assert seen["signed"] is True and seen["can_sign"] is False
    timeline = (await api.get("dispatcher", f"/orders/{order['id']}/timeline")).json()
    kinds = [e["kind"] for e in timeline]
    assert "order.signature_requested" in kinds and "order.proof" in kinds
    # The rider signs the order off with the proof; the link then shows it delivered.
    await api.act("rider-1", order, "sign")
    assert (await view(api, token))["status"] == "SIGNED"


async def test_asking_needs_the_order_out_for_delivery(api: Api) -> None:
    order = await api.create_order()
    response = await api.post("dispatcher", f"/orders/{order['id']}/signature-request")
    assert response.status_code == 409
    assert "DELIVERING" in response.json()["detail"]
