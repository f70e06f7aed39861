"""Order search (docs/api.md): exact keys, fuzzy names, addresses and riders, ranked, in
scope, and fresh after changes made since the last search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import system_principal
from backend.orders.service import assign_rider
from backend_client.models import AssignRequest
from tests.support import Api, customer


async def found(api: Api, username: str, q: str, **params: Any) -> list[int]:
    response = await api.get(username, "/orders", params={"q": q, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None  # a search is one ranked page
    return [o["id"] for o in response.json()["items"]]


async def named(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    address = fields.pop("address", "Sanlitun Rd 19, Chaoyang")
    phone = fields.pop("phone", "13800138000")
    return await api.create_order(
        customer=customer(name=name, address=address, phone=phone), **fields
    )


async def test_a_typo_in_the_name_still_finds_the_order(api: Api) -> None:
    audit = await named(api, "Audit Two")
    await named(api, "Bruno Mars")
    assert await found(api, "dispatcher", "Audt Two") == [audit["id"]]
    assert await found(api, "dispatcher", "audit tow") == [audit["id"]]
    # Any script: characters are compared, not Latin words.
    zhou = await named(api, "周晓梅")
    assert await found(api, "dispatcher", "周小梅") == [zhou["id"]]


async def test_the_closest_match_comes_first(api: Api) -> None:
    # Most urgent first among equals, so the exact name must win on similarity, not urgency.
    later = (api.clock.now() + timedelta(hours=3)).isoformat()
    exact = await named(api, "Wei Lan", promised_at=later)
    typo = await named(api, "Wei Lin")
    contains = await named(api, "Wei Lanfang")
    street = await named(api, "Gao Ming", address="Wei Lane 7, Dongcheng")
    ranked = await found(api, "dispatcher", "Wei Lan")
    assert ranked[:2] == [exact["id"], contains["id"]]  # exact name, then containing it
    assert ranked.index(typo["id"]) < ranked.index(street["id"])  # a name before an address
    assert set(ranked) == {exact["id"], typo["id"], contains["id"], street["id"]}


async def test_the_address_and_the_rider_are_searched_too(api: Api) -> None:
    home = await named(api, "Qian Yu", address="Zhongguancun Street 27, Haidian")
    elsewhere = await named(api, "Sun Li", address="Gulou East 3, Dongcheng")
    assert await found(api, "dispatcher", "Zhongguancun Stret") == [home["id"]]

    await api.rider_online(2)  # Zhang Lei
    paid = await api.act("channel-app", elsewhere, "pay")
    carried = await api.assign(paid, 2)
    assert carried["id"] in await found(api, "dispatcher", "Zhang Lie")
    assert home["id"] not in await found(api, "dispatcher", "Zhang Lie")


async def test_phone_digits_as_far_as_the_caller_sees_the_phone(api: Api) -> None:
    order = await named(api, "Ren Bo", phone="13911112468")
    for desk in ("admin", "supervisor", "dispatcher", "support"):
        assert await found(api, desk, "2468") == [order["id"]], desk
        assert await found(api, desk, "1112468") == [order["id"]], desk
    # Masked accounts see the last four digits, so they may search by them, never by more:
    # a longer run, guessed digit by digit, would recover the number.
    for masked in ("viewer", "channel-app"):
        assert await found(api, masked, "2468") == [order["id"]], masked
        assert await found(api, masked, "12468") == [], masked
    # The order id and the channel's id stay searchable by everyone who sees the order.
    assert await found(api, "viewer", str(order["id"])) == [order["id"]]
    assert await found(api, "channel-app", order["external_id"]) == [order["id"]]


async def test_fuzzy_matches_stay_in_the_callers_scope(api: Api) -> None:
    ours = await named(api, "Feng Qiao", warehouse_id="WH-CY")
    theirs = await named(api, "Feng Qiao", warehouse_id="WH-HD")
    meituan = await named(api, "Feng Qiao", channel_user="channel-meituan")
    for who in (ours, theirs):
        await api.act("channel-app", who, "pay")
    assert set(await found(api, "dispatcher", "Feng Qiaa")) == {
        ours["id"],
        theirs["id"],
        meituan["id"],
    }
    assert await found(api, "merchant-wh-hd", "Feng Qiaa") == [theirs["id"]]
    assert await found(api, "channel-meituan", "Feng Qiaa") == [meituan["id"]]
    assert await found(api, "rider-1", "Feng Qiaa") == []
    # The list's filters narrow a search as they narrow the list.
    assert await found(api, "dispatcher", "Feng Qiaa", warehouse_id="WH-CY", status="PAID") == [
        ours["id"]
    ]


async def test_a_search_answers_one_page_and_refuses_a_cursor(api: Api) -> None:
    for _ in range(3):
        await named(api, "Tao Ran")
    assert len(await found(api, "dispatcher", "Tao Ran", limit=2)) == 2
    response = await api.get("dispatcher", "/orders", params={"q": "Tao Ran", "cursor": "x"})
    assert response.status_code == 422
    assert "one page" in response.json()["detail"]


async def test_changes_since_the_last_search_are_found(api: Api) -> None:
    assert await found(api, "dispatcher", "Hua Mulan") == []  # the corpus is read now
    new = await named(api, "Hua Mulan")
    assert await found(api, "dispatcher", "Hua Mulam") == [new["id"]]
    cancelled = await api.act("channel-app", new, "cancel", reason="changed my mind")
    assert await found(api, "dispatcher", "Hua Mulam", status="CANCELLED") == [cancelled["id"]]
    assert await found(api, "dispatcher", "Hua Mulam", status="CREATED") == []

    # Changed outside this instance's routes (as another instance would): the event log says
    # so, and the next search reads the order again.
    other = await named(api, "Lao She")
    assert await found(api, "dispatcher", "Lao Shi") == [other["id"]]
    assign = AssignRequest(rider_id=3, version=other["version"] + 1)
    paid = await api.act("channel-app", other, "pay")
    await api.rider_online(3)

    async def elsewhere(session: AsyncSession) -> None:
        await assign_rider(
            session, paid["id"], assign, actor=system_principal(), now=api.clock.now()
        )

    await api.app.state.runtime.db.write(elsewhere)
    assert await found(api, "dispatcher", "Lao Shi", rider_id=3) == [other["id"]]


async def test_final_orders_leave_the_fuzzy_search_after_a_day_but_not_the_exact_one(
    api: Api,
) -> None:
    order = await named(api, "Mo Yan")
    await api.act("channel-app", order, "cancel", reason="test")
    assert await found(api, "dispatcher", "Mo Yam") == [order["id"]]
    api.clock.advance(days=1, minutes=2)
    api._tokens.clear()  # they lived 12 hours: sign in again
    assert await found(api, "dispatcher", "Mo Yam") == []
    assert await found(api, "dispatcher", "Mo Yan") == [order["id"]]  # the name, exactly
