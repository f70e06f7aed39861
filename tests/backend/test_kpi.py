"""KPI formulas on a hand-made day with known answers (SQLite and PostgreSQL, through the API on
a manual clock), the time series, trouble by reason, the reconciliation report, and the
refusals: bad windows, unknown zones, roles outside the desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import Api

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # the ManualClock's default start
NOW = T0 + timedelta(minutes=90)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def at(api: Api, minutes: float) -> None:
    """Move the clock to T0 + `minutes` (never backwards)."""
    target = T0 + timedelta(minutes=minutes)
    assert target >= api.clock.now()
    api.clock.advance(seconds=(target - api.clock.now()).total_seconds())


async def rider_status(api: Api, rider_id: int, status: str) -> None:
    response = await api.post(
        f"rider-{rider_id}", f"/riders/{rider_id}/status", json={"status": status}
    )
    assert response.status_code == 200, response.text


async def order(api: Api, channel_user: str, promise_minutes: int, **fields: Any) -> dict:
    return await api.create_order(
        channel_user=channel_user,
        warehouse_id="WH-CY",
        promised_at=iso(T0 + timedelta(minutes=promise_minutes)),
        **fields,
    )


async def returned(api: Api, order: dict, reason: str) -> dict:
    """A return opened for the order and approved at the desk: the order is RETURNING."""
    body = {"version": order["version"], "reason": reason}
    opened = await api.post("support", f"/orders/{order['id']}/returns", json=body)
    assert opened.status_code == 201, opened.text
    decision = {"version": opened.json()["version"], "reason": "refusal confirmed"}
    approved = await api.post("support", f"/requests/{opened.json()['id']}/approve", json=decision)
    assert approved.status_code == 200, approved.text
    return (await api.get("admin", f"/orders/{order['id']}")).json()


async def hand_made_day(api: Api) -> dict[str, dict]:
    """Six orders and two riders over 90 minutes (see the expectations in the tests)."""
    app_, meituan = "channel-app", "channel-meituan"
    await rider_status(api, 1, "online")
    await rider_status(api, 2, "online")
    a = await order(api, app_, 45)  # signed on time, 29 min after payment
    b = await order(api, meituan, 40)  # signed late, 60 min; moves from rider 2 to rider 1
    await at(api, 1)
    a = await api.act(app_, a, "pay")
    b = await api.act(meituan, b, "pay")
    await at(api, 2)
    a = await api.assign(await api.act("dispatcher", a, "start_picking"), 1)
    await at(api, 3)
    b = await api.assign(await api.act("dispatcher", b, "start_picking"), 2)
    await at(api, 5)
    c = await order(api, app_, 50)  # the customer cancels: not due
    d = await order(api, app_, 50)  # the desk cancels: due, not fulfilled
    await at(api, 6)
    c = await api.act(app_, c, "pay")
    d = await api.act(app_, d, "pay")
    await at(api, 8)
    c = await api.act(app_, c, "cancel", reason="customer changed their mind")
    await at(api, 9)
    d = await api.act("dispatcher", d, "cancel", reason="no rider free")
    await at(api, 10)
    a = await api.act("dispatcher", a, "dispatch")
    e = await order(api, meituan, 55)  # short, then refused and returned
    f = await order(api, app_, 40)  # never paid: not due
    await at(api, 11)
    e = await api.act(meituan, e, "pay")
    await at(api, 12)
    b = await api.act("dispatcher", b, "dispatch")
    e = await api.act("dispatcher", e, "start_picking")
    await at(api, 13)
    e = await api.act("dispatcher", e, "report_out_of_stock", reason="VEG-BOKCHOY: wilted")
    await at(api, 20)
    e = await api.assign(await api.act("dispatcher", e, "restock"), 1)
    await at(api, 25)
    e = await api.act("dispatcher", e, "dispatch")
    await at(api, 30)
    a = await api.act("dispatcher", a, "sign")
    await at(api, 35)
    e = await api.act("dispatcher", e, "report_exception", reason="customer refused the delivery")
    await at(api, 40)
    e = await returned(api, e, "customer refused the delivery")
    await at(api, 50)
    e = await api.act("support", e, "complete_return")
    b = await api.assign(b, 1)
    await at(api, 61)
    b = await api.act("dispatcher", b, "sign")
    await at(api, 70)
    await rider_status(api, 2, "offline")
    await at(api, 90)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


async def kpi(api: Api, path: str, user: str = "viewer", expect: int = 200, **params: Any):
    response = await api.get(user, f"/kpi/{path}", params=params)
    assert response.status_code == expect, response.text
    return response.json()


async def test_kpis_on_a_hand_made_day(api: Api) -> None:
    """One day built once per database, then every question asked of it."""
    orders = await hand_made_day(api)
    await check_summary(api, orders)
    await check_filters(api)
    await check_a_window_that_opens_mid_delivery(api)
    await check_series(api)
    await check_trouble(api)
    await check_reconciliation(api, orders)


async def check_summary(api: Api, orders: dict[str, dict]) -> None:
    price = orders["a"]["amount_cents"]  # every order is the same basket
    window = {"start": iso(T0), "end": iso(T0 + timedelta(hours=3))}  # clipped to now
    summary = await kpi(api, "summary", **window)

    assert summary["window"]["end"] == iso(NOW).replace("+00:00", "Z")
    current = summary["current"]
    assert current["orders"] == 6
    assert current["amount_cents"] == 6 * price
    # Due: A, B, D, E (C cancelled by the customer, F never paid); signed: A, B.
    assert (current["due"], current["fulfilled"]) == (4, 2)
    assert current["fulfilment_rate"] == pytest.approx(0.5)
    # Signed: A at 30 (promise 45), B at 61 (promise 40).
    assert (current["signed"], current["on_time"]) == (2, 1)
    assert current["on_time_rate"] == pytest.approx(0.5)
    assert current["delivery_minutes_avg"] == pytest.approx((29 + 60) / 2)
    assert current["delivery_minutes_p90"] == pytest.approx(60)
    # E ran out of stock, then was refused and returned.
    assert (current["out_of_stock"], current["returned"], current["damaged"]) == (1, 1, 0)
    assert current["lost"] == 1
    assert current["loss_rate"] == pytest.approx(1 / 6)
    assert current["exceptions"] == 1
    assert current["exception_rate"] == pytest.approx(1 / 6)
    # Rider 1 online 0-90, carrying 10-61 (A 10-30, E 25-50, B from 50 to 61); rider 2
    # online 0-70, carrying B 12-50.
    assert current["online_minutes"] == pytest.approx(90 + 70)
    assert current["delivering_minutes"] == pytest.approx(51 + 38)
    assert current["rider_utilisation"] == pytest.approx(89 / 160)

    previous = summary["previous"]
    assert previous["orders"] == 0
    assert previous["fulfilment_rate"] is None
    assert previous["rider_utilisation"] is None

    by_channel = {c["channel"]: c["figures"] for c in summary["by_channel"]}
    assert set(by_channel) == {"app", "meituan"}
    assert (by_channel["app"]["orders"], by_channel["meituan"]["orders"]) == (4, 2)
    assert (by_channel["app"]["due"], by_channel["app"]["fulfilled"]) == (2, 1)
    assert by_channel["meituan"]["on_time_rate"] == 0
    assert by_channel["meituan"]["delivery_minutes_p90"] == pytest.approx(60)
    assert by_channel["app"]["rider_utilisation"] is None  # riders serve every channel


async def check_filters(api: Api) -> None:
    window = {"start": iso(T0), "end": iso(NOW)}
    meituan = (await kpi(api, "summary", channel="meituan", **window))["current"]
    assert (meituan["orders"], meituan["due"], meituan["signed"], meituan["lost"]) == (2, 2, 1, 1)
    assert meituan["online_minutes"] is None
    elsewhere = (await kpi(api, "summary", warehouse_id="WH-WJ", **window))["current"]
    assert (elsewhere["orders"], elsewhere["online_minutes"]) == (0, 0)
    chaoyang = (await kpi(api, "summary", zone="Chaoyang", **window))["current"]
    assert (chaoyang["orders"], chaoyang["online_minutes"]) == (6, pytest.approx(160))


async def check_a_window_that_opens_mid_delivery(api: Api) -> None:
    # From minute 20 on: rider 1 carries 20-61 (A and E were out before the window began),
    # rider 2 carries B 20-50; online 20-90 and 20-70.
    later = (await kpi(api, "summary", start=iso(T0 + timedelta(minutes=20)), end=iso(NOW)))[
        "current"
    ]
    assert later["online_minutes"] == pytest.approx(70 + 50)
    assert later["delivering_minutes"] == pytest.approx(41 + 30)
    assert (later["orders"], later["signed"]) == (0, 2)  # created before, signed inside


async def check_series(api: Api) -> None:
    series = await kpi(api, "series", start=iso(T0), end=iso(NOW))
    buckets = series["buckets"]
    assert series["bucket_minutes"] == 15
    assert [b["start"] for b in buckets] == [
        iso(T0 + timedelta(minutes=15 * n)).replace("+00:00", "Z") for n in range(6)
    ]
    first = buckets[0]
    assert first["figures"]["orders"] == 6
    assert first["orders_by_channel"] == {"app": 4, "meituan": 2}
    assert first["figures"]["online_minutes"] == pytest.approx(30)
    assert first["figures"]["delivering_minutes"] == pytest.approx(5 + 3)
    assert [b["figures"]["signed"] for b in buckets] == [0, 0, 1, 0, 1, 0]
    assert buckets[4]["figures"]["delivery_minutes_avg"] == pytest.approx(60)
    # Due by promise: B (40) in 30-45; A, D and E (45, 50, 55) in 45-60.
    assert [b["figures"]["due"] for b in buckets] == [0, 0, 1, 3, 0, 0]
    assert sum(b["figures"]["delivering_minutes"] for b in buckets) == pytest.approx(89)
    assert buckets[5]["figures"]["online_minutes"] == pytest.approx(15)  # rider 1 alone


async def check_trouble(api: Api) -> None:
    trouble = await kpi(api, "exceptions", start=iso(T0), end=iso(NOW))
    assert trouble["by_state"] == {
        "OUT_OF_STOCK": 1,
        "EXCEPTION": 1,
        "RETURNING": 1,
        "CLAIMING": 0,
        "CANCELLED": 2,
    }
    reasons = {(r["state"], r["reason"]): r["count"] for r in trouble["by_reason"]}
    assert reasons[("EXCEPTION", "customer refused the delivery")] == 1
    assert reasons[("CANCELLED", "customer changed their mind")] == 1
    # A reason naming a catalogue item comes with the item's name; others with none.
    named = {r["reason"]: (r["sku"], r["sku_name"]) for r in trouble["by_reason"]}
    assert named["VEG-BOKCHOY: wilted"] == ("VEG-BOKCHOY", "Bok choy")
    assert named["customer changed their mind"] == (None, None)


async def check_reconciliation(api: Api, orders: dict[str, dict]) -> None:
    price = orders["a"]["amount_cents"]
    # An admin keys in an Ele.me order by hand: recorded, but Ele.me never sent it.
    keyed = await api.create_order(
        channel_user="admin", channel="eleme", warehouse_id="WH-CY", external_id="ELE-BY-HAND"
    )
    report = await kpi(api, "reconciliation", day="2026-11-22", tz="+08:00")
    assert report["start"] == "2026-11-21T16:00:00Z"  # midnight in Beijing
    channels = {c["channel"]: c for c in report["channels"]}
    app_ = channels["app"]
    assert app_["sent"] == app_["recorded"] == {"orders": 4, "amount_cents": 4 * price}
    assert app_["sent_source"] == "intake"
    assert app_["matches"] is True
    assert (app_["signed"]["orders"], app_["cancelled"]["orders"], app_["open"]["orders"]) == (
        1,
        2,
        1,
    )
    assert app_["paid"]["orders"] == 3
    meituan = channels["meituan"]
    assert (meituan["signed"]["orders"], meituan["returned"]["orders"]) == (1, 1)
    eleme = channels["eleme"]
    assert eleme["sent"] == {"orders": 0, "amount_cents": 0}
    assert eleme["difference"] == {"orders": 1, "amount_cents": keyed["amount_cents"]}
    assert eleme["only_recorded"] == ["ELE-BY-HAND"]
    assert eleme["matches"] is False
    assert report["matches"] is False
    assert report["recorded"]["orders"] == 7
    await check_a_channel_statement(api, price)
    # The day before (Beijing time) had nothing.
    empty = await kpi(api, "reconciliation", day="2026-11-21", tz="Asia/Shanghai")
    assert (empty["channels"], empty["matches"]) == ([], True)


class MeituanStatement:
    """A channel's own report of its day, as channel intake will bring them."""

    kind = "statement"

    async def statements(self, session, start, end):
        from backend.kpi.reconciliation import ChannelStatement
        from backend_client.models import LedgerLine

        ids = frozenset({"MT-NEVER-ARRIVED", *self.ours})
        return {"meituan": ChannelStatement(LedgerLine(orders=3, amount_cents=999), ids)}


async def check_a_channel_statement(api: Api, price: int) -> None:
    from sqlalchemy import select

    from backend.kpi.reconciliation import reconcile
    from backend.orders.models import OrderRow

    source = MeituanStatement()
    async with api.app.state.runtime.db.read() as session:
        rows = await session.scalars(
            select(OrderRow.external_id).where(OrderRow.channel == "meituan")
        )
        source.ours = list(rows)[:1]  # it lists one of our two orders, and one we never got
        report = await reconcile(session, T0.date(), UTC, "UTC", source)
    meituan = next(c for c in report.channels if c.channel == "meituan")
    assert meituan.sent_source == "statement"
    assert (meituan.sent.orders, meituan.recorded.orders) == (3, 2)
    assert meituan.difference.amount_cents == 2 * price - 999
    assert meituan.only_sent == ["MT-NEVER-ARRIVED"]
    assert len(meituan.only_recorded) == 1 and not meituan.matches


BAD_WINDOWS = [
    ({"start": "2026-11-22T11:00:00Z", "end": "2026-11-22T10:00:00Z"}, "empty"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-11-22T10:00:00Z"}, "longer than"),
    ({"start": "2026-11-22T09:00:00"}, "timezone"),
    ({"channel": "carrier-pigeon"}, "channel"),
]


async def test_bad_questions_and_other_roles_are_refused(api: Api) -> None:
    for params, why in BAD_WINDOWS:
        body = await kpi(api, "summary", expect=422, **params)
        assert why in str(body["detail"]), (params, body)
    body = await kpi(api, "series", expect=422, start="2026-10-01T00:00:00Z", bucket_minutes=5)
    assert "buckets" in body["detail"]
    body = await kpi(api, "reconciliation", expect=422, tz="Mars/Olympus")
    assert "time zone" in body["detail"]
    await kpi(api, "reconciliation", expect=422, tz="+99:00")
    await kpi(api, "reconciliation", expect=422, day="2026-13-01")
    for user in ("merchant-wh-cy", "rider-1", "channel-app"):
        await kpi(api, "summary", user=user, expect=403)
        await kpi(api, "reconciliation", user=user, expect=403)
    for user in ("viewer", "supervisor", "dispatcher", "support", "admin"):
        await kpi(api, "series", user=user)
