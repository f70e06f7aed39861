"""Every KPI view as CSV and Parquet (`?format=`), read back with the standard csv module and
pyarrow: the same totals as the JSON for the same window, typed columns, a file name; and the
refusals (an unknown format, roles outside the desk) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend_client.models import KpiFigures
from tests.backend.test_kpi import NOW, T0, hand_made_day, iso
from tests.support import Api

WINDOW = {"start": iso(T0), "end": iso(NOW)}
VIEWS = ("summary", "series", "exceptions", "reconciliation")


async def fetch(api: Api, view: str, format: str, *, user: str = "viewer", **params: Any):
    return await api.get(user, f"/kpi/{view}", params={**params, "format": format})


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def parquet_rows(response: httpx.Response) -> tuple[pa.Schema, list[dict[str, Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    return table.schema, table.to_pylist()


def number(text: str) -> float | None:
    return None if text == "" else float(text)


async def test_exports_carry_the_same_figures_as_the_json(api: Api) -> None:
    await hand_made_day(api)
    await check_summary(api)
    await check_series(api)
    await check_exceptions(api)
    await check_reconciliation(api)


async def check_summary(api: Api) -> None:
    summary = (await api.get("viewer", "/kpi/summary", params=WINDOW)).json()
    response = await fetch(api, "summary", "csv", **WINDOW)
    disposition = response.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="freshline-kpi-summary-20261122T1000Z-20261122T1130Z.csv"'
    )
    rows = csv_rows(response)
    total = next(r for r in rows if (r["period"], r["channel"]) == ("current", "all"))
    for name in KpiFigures.model_fields:  # every figure, nulls as empty cells
        expected = summary["current"][name]
        assert number(total[name]) == (None if expected is None else pytest.approx(expected))
    channels = [r for r in rows if r["period"] == "current" and r["channel"] != "all"]
    assert {r["channel"] for r in channels} == {"app", "meituan"}
    # The channels partition the orders: their rows add up to the total, as in the JSON.
    for name in ("orders", "amount_cents", "due", "fulfilled", "signed", "on_time", "lost"):
        assert sum(int(r[name]) for r in channels) == int(total[name]) == summary["current"][name]
    previous = next(r for r in rows if r["period"] == "previous")
    assert previous["window_end"] == total["window_start"] == "2026-11-22T10:00:00+00:00"
    assert int(previous["orders"]) == summary["previous"]["orders"] == 0

    schema, table = parquet_rows(await fetch(api, "summary", "parquet", **WINDOW))
    assert schema.field("orders").type == pa.int64()
    assert schema.field("on_time_rate").type == pa.float64()
    assert schema.field("window_start").type == pa.timestamp("us", tz="UTC")
    current = [r for r in table if r["period"] == "current"]
    total_row = next(r for r in current if r["channel"] == "all")
    assert {k: total_row[k] for k in KpiFigures.model_fields} == pytest.approx(summary["current"])
    by_channel = {c["channel"]: c["figures"] for c in summary["by_channel"]}
    for row in current:
        if row["channel"] != "all":
            assert row["amount_cents"] == by_channel[row["channel"]]["amount_cents"]
    assert total_row["window_end"] == NOW


async def check_series(api: Api) -> None:
    params = {**WINDOW, "bucket_minutes": 30}
    series = (await api.get("viewer", "/kpi/series", params=params)).json()
    rows = csv_rows(await fetch(api, "series", "csv", **params))
    assert len(rows) == len(series["buckets"]) == 3
    assert sum(int(r["orders"]) for r in rows) == 6
    assert sum(int(r["orders_app"]) + int(r["orders_meituan"]) for r in rows) == 6
    for row, bucket in zip(rows, series["buckets"], strict=True):
        assert int(row["signed"]) == bucket["figures"]["signed"]
        assert int(row["orders_app"]) == bucket["orders_by_channel"].get("app", 0)
    _, table = parquet_rows(await fetch(api, "series", "parquet", **params))
    assert [r["bucket_start"] for r in table] == [T0 + timedelta(minutes=30 * n) for n in range(3)]
    assert sum(r["on_time"] for r in table) == sum(
        b["figures"]["on_time"] for b in series["buckets"]
    )


async def check_exceptions(api: Api) -> None:
    trouble = (await api.get("viewer", "/kpi/exceptions", params=WINDOW)).json()
    rows = csv_rows(await fetch(api, "exceptions", "csv", **WINDOW))
    by_state = {r["state"]: int(r["count"]) for r in rows if r["breakdown"] == "state"}
    assert by_state == trouble["by_state"]
    reasons = [r for r in rows if r["breakdown"] == "reason"]
    assert sum(int(r["count"]) for r in reasons) == sum(c["count"] for c in trouble["by_reason"])
    wilted = next(r for r in reasons if r["reason"] == "VEG-BOKCHOY: wilted")
    assert (wilted["state"], wilted["sku"]) == ("OUT_OF_STOCK", "VEG-BOKCHOY")
    _, table = parquet_rows(await fetch(api, "exceptions", "parquet", **WINDOW))
    assert sum(r["count"] for r in table if r["breakdown"] == "state") == sum(
        trouble["by_state"].values()
    )


async def check_reconciliation(api: Api) -> None:
    params = {"day": "2026-11-22", "tz": "UTC"}
    report = (await api.get("viewer", "/kpi/reconciliation", params=params)).json()
    response = await fetch(api, "reconciliation", "csv", **params)
    assert (
        'filename="freshline-kpi-reconciliation-2026-11-22.csv"'
        in (response.headers["content-disposition"])
    )
    rows = csv_rows(response)
    assert [r["channel"] for r in rows] == [c["channel"] for c in report["channels"]]
    assert sum(int(r["recorded_orders"]) for r in rows) == report["recorded"]["orders"] == 6
    assert sum(int(r["sent_amount_cents"]) for r in rows) == report["sent"]["amount_cents"]
    assert {r["matches"] for r in rows} == {"true"}
    _, table = parquet_rows(await fetch(api, "reconciliation", "parquet", **params))
    assert sum(r["returned_orders"] for r in table) == 1
    assert all(r["matches"] is True for r in table)


async def test_an_empty_window_still_opens_with_typed_columns(api: Api) -> None:
    quiet = {"start": iso(T0 - timedelta(hours=1)), "end": iso(T0)}
    schema, table = parquet_rows(await fetch(api, "exceptions", "parquet", **quiet))
    assert schema.field("count").type == pa.int64() and schema.field("sku").type == pa.string()
    assert {r["breakdown"] for r in table} == {"state"}  # every state, at zero; no reasons
    assert {r["count"] for r in table} == {0}
    rows = csv_rows(await fetch(api, "summary", "csv", **quiet))
    assert [(r["period"], r["orders"], r["on_time_rate"]) for r in rows] == [
        ("current", "0", ""),
        ("previous", "0", ""),
    ]


async def test_unknown_formats_and_other_roles_are_refused(api: Api) -> None:
    for view in VIEWS:
        for bad in ("xlsx", "CSV ", ""):
            response = await fetch(api, view, bad)
            assert response.status_code == 422, (view, bad, response.text)
            assert "format" in str(response.json()["detail"])
        for user in ("merchant-wh-cy", "rider-1", "channel-app"):
            assert (await fetch(api, view, "csv", user=user)).status_code == 403
        json_default = await api.get("viewer", f"/kpi/{view}")
        assert json_default.headers["content-type"] == "application/json"
    # A bad window is refused as in JSON, not turned into an empty file.
    bad_window = {"start": iso(NOW), "end": iso(T0)}
    assert (await fetch(api, "summary", "parquet", **bad_window)).status_code == 422
