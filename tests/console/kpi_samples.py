"""A KPI board filled by hand (summary, the day's series, trouble by reason) for the KPI screen's
snapshots and Pilot tests: fixed numbers on a frozen clock, no network."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from backend_client.models import (
    ChannelKpis,
    ExceptionCount,
    KpiBucket,
    KpiExceptions,
    KpiFigures,
    KpiSeries,
    KpiSummary,
    KpiWindow,
    SensorKpis,
)

NOW = datetime(2026, 11, 22, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
MIDNIGHT = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # 00:00 in Beijing
CHANNEL_SHARE = {
    "app": 0.30,
    "mini_program": 0.20,
    "meituan": 0.22,
    "eleme": 0.13,
    "store": 0.05,
    "group_buy": 0.10,
}


SENSORS = SensorKpis(
    celsius_readings=38,
    celsius_min=1.5,
    celsius_avg=4.2,
    celsius_max=9.5,
    humidity_readings=41,
    humidity_min=62.0,
    humidity_avg=88.4,
    humidity_max=97.0,
)
"""A day's box and vehicle readings, some out of their bands."""


def figures(orders: int, *, on_time: float, fulfil: float, minutes: float, **extra: Any):
    signed = round(orders * 0.9)
    due = round(orders * 0.95)
    lost = round(orders * 0.04)
    exceptions = round(orders * 0.03)
    values: dict[str, Any] = {
        "orders": orders,
        "amount_cents": orders * 6350,
        "due": due,
        "fulfilled": round(due * fulfil),
        "fulfilment_rate": fulfil if due else None,
        "signed": signed,
        "on_time": round(signed * on_time),
        "on_time_rate": on_time if signed else None,
        "delivery_minutes_avg": minutes if signed else None,
        "delivery_minutes_p90": minutes * 1.45 if signed else None,
        "out_of_stock": lost // 2,
        "damaged": lost // 4,
        "returned": lost - lost // 2 - lost // 4,
        "lost": lost,
        "loss_rate": lost / orders if orders else None,
        "exceptions": exceptions,
        "exception_rate": exceptions / orders if orders else None,
        "online_minutes": 24 * 60.0,
        "delivering_minutes": 24 * 60.0 * 0.62,
        "rider_utilisation": 0.62,
    }
    values.update(extra)
    return KpiFigures(**values)


def summary() -> KpiSummary:
    window = KpiWindow(start=NOW - timedelta(hours=1), end=NOW)
    by_channel = [
        ChannelKpis(
            channel=channel,
            figures=figures(
                round(72 * share),
                on_time=0.88 + 0.02 * n,
                fulfil=0.95 + 0.008 * n,
                minutes=31 + n,
            ),
        )
        for n, (channel, share) in enumerate(CHANNEL_SHARE.items())
    ]
    return KpiSummary(
        window=window,
        current=figures(72, on_time=0.913, fulfil=0.968, minutes=33.4),
        previous=figures(65, on_time=0.934, fulfil=0.961, minutes=35.0, rider_utilisation=0.55),
        by_channel=by_channel,
        computed_at=NOW,
        sensors=SENSORS,
    )


def series() -> KpiSeries:
    buckets = []
    for n in range(int((NOW - MIDNIGHT) / timedelta(minutes=15))):
        start = MIDNIGHT + timedelta(minutes=15 * n)
        hour = (start.hour + 8) % 24 + start.minute / 60
        demand = max(0.0, math.sin((hour - 6) / 7 * math.pi)) if 6 <= hour <= 13 else 0.05
        orders = round(18 * demand)
        by_channel = {c: round(orders * share) for c, share in CHANNEL_SHARE.items()}
        buckets.append(
            KpiBucket(
                start=start,
                figures=figures(
                    orders, on_time=0.85 + 0.1 * demand, fulfil=0.97, minutes=28 + 8 * demand
                ),
                orders_by_channel={c: k for c, k in by_channel.items() if k},
            )
        )
    return KpiSeries(window=KpiWindow(start=MIDNIGHT, end=NOW), bucket_minutes=15, buckets=buckets)


def exceptions() -> KpiExceptions:
    rows = [
        ("EXCEPTION", "customer refused the delivery", 9),
        ("OUT_OF_STOCK", "VEG-SPINACH: the last units failed the freshness check", 7),
        ("CANCELLED", "payment not received within 30 minutes", 6),
        ("EXCEPTION", "traffic accident: scooter hit at a crossing, rider unhurt", 3),
        ("CLAIMING", "goods damaged on arrival, photo attached", 2),
    ]
    return KpiExceptions(
        window=KpiWindow(start=MIDNIGHT, end=NOW),
        by_state={
            "OUT_OF_STOCK": 7,
            "EXCEPTION": 12,
            "RETURNING": 9,
            "CLAIMING": 2,
            "CANCELLED": 6,
        },
        by_reason=[
            ExceptionCount(
                state=s,
                reason=r,
                count=c,
                sku="VEG-SPINACH" if r.startswith("VEG-SPINACH:") else None,
                sku_name="Spinach" if r.startswith("VEG-SPINACH:") else None,
            )
            for s, r, c in rows
        ],
    )
