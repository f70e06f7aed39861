"""The day report (`GET /reports/day`) on a hand-made day, on SQLite and PostgreSQL: its KPIs are
the KPI endpoints' for the same business day, its alerts, claims and riders are the ones made
here, its Markdown, CSV and PDF carry the same figures; a merchant's covers their warehouse
only; bad days, formats and roles are refused."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pypdf

from tests.backend.test_alert_rules import evaluate, standing
from tests.backend.test_kpi import hand_made_day
from tests.support import Api

DAY = "2026-11-22"
"""The manual clock's day in the business time zone (Asia/Shanghai: 18:00 at T0)."""
DAY_START, DAY_END = "2026-11-21T16:00:00Z", "2026-11-22T16:00:00Z"


async def report(api: Api, user: str = "supervisor", expect: int = 200, **params: Any):
    response = await api.get(user, "/reports/day", params=params)
    assert response.status_code == expect, response.text
    return response


async def settled_claim(api: Api) -> dict[str, Any]:
    """An order out with rider 1 whose goods arrive damaged: claimed, approved and paid."""
    order = await api.act("channel-app", await api.create_order(), "pay")
    order = await api.assign(await api.act("dispatcher", order, "start_picking"), 1)
    order = await api.act("rider-1", order, "dispatch")
    body = {
        "version": order["version"],
        "reason": "crushed box",
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        "amount_cents": 450,
    }
    opened = await api.post("rider-1", f"/orders/{order['id']}/claims", json=body)
    assert opened.status_code == 201, opened.text
    decision = {"version": opened.json()["version"], "reason": "photo checked"}
    approved = await api.post("support", f"/requests/{opened.json()['id']}/approve", json=decision)
    assert approved.status_code == 200, approved.text
    order = (await api.get("admin", f"/orders/{order['id']}")).json()
    return await api.act("support", order, "settle_claim")


async def handled_alert(api: Api) -> None:
    """A paid order left unpicked: `not_picked` opens, the dispatcher acknowledges it 4 minutes
    later, and it resolves 6 minutes after opening, when picking starts."""
    waiting = await api.act("channel-app", await api.create_order(), "pay")
    api.clock.advance(minutes=16)
    await evaluate(api)
    alert = (await standing(api))["not_picked", f"order:{waiting['id']}"]
    api.clock.advance(minutes=4)
    path = f"/alerts/{alert['id']}/acknowledge"
    acked = await api.post("dispatcher", path, json={"version": alert["version"]})
    assert acked.status_code == 200, acked.text
    api.clock.advance(minutes=2)
    await api.act("dispatcher", waiting, "start_picking")
    await evaluate(api)
    assert ("not_picked", f"order:{waiting['id']}") not in await standing(api)


async def summary(api: Api, **params: Any) -> dict[str, Any]:
    window = {"start": DAY_START, "end": DAY_END, **params}
    response = await api.get("viewer", "/kpi/summary", params=window)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_day_report_agrees_with_the_kpis_in_every_format(api: Api) -> None:
    await hand_made_day(api)
    await settled_claim(api)
    await handled_alert(api)

    day = (await report(api, day=DAY)).json()
    assert (day["day"], day["tz"]) == (DAY, "Asia/Shanghai")
    assert (day["start"], day["end"], day["complete"]) == (DAY_START, DAY_END, False)
    assert (await report(api)).json()["day"] == DAY  # today, in the business time zone

    # KPIs: the same figures as /kpi/summary over the day, in total and per warehouse.
    lines = {(k["warehouse_id"], k["channel"]): k["figures"] for k in day["kpis"]}
    whole = await summary(api)
    assert lines[None, None] == whole["current"]
    for c in whole["by_channel"]:
        assert lines[None, c["channel"]] == c["figures"]
    warehouses = {w for w, _ in lines if w is not None}
    assert "WH-CY" in warehouses
    for warehouse in warehouses:
        there = await summary(api, warehouse_id=warehouse)
        assert lines[warehouse, None] == there["current"]
        for c in there["by_channel"]:
            assert lines[warehouse, c["channel"]] == c["figures"]
    assert lines["WH-CY", None]["orders"] == 8  # the hand-made six, the claim, the late pick

    # Alerts: the one the dispatcher took on, 4 minutes to acknowledge and 6 to resolve.
    by_desk = {(d["rule"], d["user"]): d for d in day["alerts_by_desk"]}
    desk = by_desk["not_picked", "dispatcher"]
    assert (desk["role"], desk["acknowledged"], desk["resolved"]) == ("dispatcher", 1, 1)
    assert (desk["acknowledge_minutes_avg"], desk["resolve_minutes_avg"]) == (4.0, 6.0)
    rule = next(r for r in day["alerts_by_rule"] if r["rule"] == "not_picked")
    assert rule["opened"] >= 1 and rule["acknowledged"] == 1
    assert rule["acknowledge_minutes_max"] == 4.0

    # Claims paid, riders on time, and the reconciliation as its own endpoint gives it.
    assert day["claims_paid"] == [
        {"warehouse_id": "WH-CY", "channel": "app", "claims": 1, "amount_cents": 450}
    ]
    assert day["claims_paid_total"] == {"orders": 1, "amount_cents": 450}
    rider = next(r for r in day["riders"] if r["rider_id"] == 1)
    name = (await api.get("admin", "/riders/1")).json()["name"]
    assert (rider["name"], rider["signed"], rider["on_time"]) == (name, 2, 1)  # A on time, B late
    ledger = await api.get("viewer", "/kpi/reconciliation", params={"day": DAY})
    assert day["reconciliation"] == ledger.json()

    await check_files(api, day, name)


async def check_files(api: Api, day: dict[str, Any], rider_name: str) -> None:
    total = next(k for k in day["kpis"] if k["warehouse_id"] is None and k["channel"] is None)

    md = await report(api, day=DAY, format="md")
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert 'filename="freshline-day-2026-11-22.md"' in md.headers["content-disposition"]
    text = md.text
    assert text.startswith("# Freshline day report 2026-11-22 (Asia/Shanghai), every warehouse")
    assert f"| all | all | {total['figures']['orders']} |" in text
    assert f"| {rider_name} | 2 | 1 | 0.50 |" in text
    assert "## Channel reconciliation" in text

    rows = list(csv.DictReader(io.StringIO((await report(api, day=DAY, format="csv")).text)))
    kpi = {
        r["metric"]: r["value"]
        for r in rows
        if (r["section"], r["warehouse_id"], r["channel"]) == ("kpi", "all", "all")
    }
    for name, value in total["figures"].items():
        assert kpi[name] == ("" if value is None else str(value)), name
    claims = [r for r in rows if r["section"] == "claims_paid" and r["warehouse_id"] == "all"]
    assert {r["metric"]: r["value"] for r in claims} == {"claims": "1", "amount_cents": "450"}
    desk = [
        r
        for r in rows
        if (r["section"], r["user"], r["rule"]) == ("alerts_by_desk", "dispatcher", "not_picked")
    ]
    assert {r["role"] for r in desk} == {"dispatcher"}
    assert {r["metric"]: r["value"] for r in desk}["acknowledge_minutes_avg"] == "4.0"

    pdf = await report(api, day=DAY, format="pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    printed = "\n".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
    )
    for heading in ("KPIs per warehouse and channel", "Alerts by desk", "Claims paid"):
        assert heading in printed
    assert rider_name in printed and "not_picked" in printed


async def test_a_merchant_gets_their_warehouse_only(api: Api) -> None:
    await hand_made_day(api)
    mine = (await report(api, "merchant-wh-cy", day=DAY)).json()
    assert mine["warehouse_id"] == "WH-CY" and mine["reconciliation"] is None
    assert {k["warehouse_id"] for k in mine["kpis"]} == {"WH-CY"}
    there = await summary(api, warehouse_id="WH-CY")
    assert mine["kpis"][0]["figures"] == there["current"]
    same = (await report(api, "merchant-wh-cy", day=DAY, warehouse_id="WH-CY")).json()
    assert same["kpis"] == mine["kpis"]
    await report(api, "merchant-wh-cy", 403, day=DAY, warehouse_id="WH-WJ")
    md = (await report(api, "merchant-wh-cy", day=DAY, format="md")).text
    assert "warehouse WH-CY" in md and "reconciliation" not in md
    # The desk may narrow its report to one warehouse too.
    narrowed = (await report(api, day=DAY, warehouse_id="WH-CY")).json()
    assert narrowed["kpis"] == mine["kpis"]


async def test_bad_days_formats_and_roles_are_refused(api: Api) -> None:
    tomorrow = (api.clock.now() + timedelta(days=1)).date().isoformat()
    for params, why in (
        ({"day": "2026-13-01"}, "day"),
        ({"day": "yesterday"}, "day"),
        ({"day": "2026-11-24"}, "has not begun"),
        ({"day": tomorrow}, "has not begun"),
        ({"day": DAY, "format": "docx"}, "format"),
        ({"day": DAY, "warehouse_id": "WH\u0007"}, "warehouse_id"),
    ):
        response = await report(api, expect=422, **params)
        assert why in str(response.json()["detail"]), (params, response.text)
    assert "no warehouse" in (await report(api, expect=404, warehouse_id="WH-NOPE")).text
    for user in ("rider-1", "channel-app"):
        await report(api, user, 403, day=DAY)
    for user in ("viewer", "support", "dispatcher", "admin"):
        await report(api, user, day=DAY, format="csv")
