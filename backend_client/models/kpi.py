"""KPIs (docs/kpis.md): figures, series, trouble by reason, and the day's ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import (
    Field,
)

from backend_client.models.common import Channel, OrderState, Response


class KpiFigures(Response):
    """Every KPI of one window (and filter), with the counts behind each rate.

    Cohorts: `orders`, losses and exceptions count orders created in the window; fulfilment
    counts paid orders whose promise fell in it (passed by now), less those the customer's side
    cancelled; on-time and delivery minutes count orders signed in it; utilisation is rider
    time in it. A rate is None when its denominator is zero."""

    orders: int = Field(description="Orders created in the window.")
    amount_cents: int = Field(description="Their value.")
    due: int = Field(
        description="Paid orders promised in the window (promise passed), less "
        "customer cancellations."
    )
    fulfilled: int = Field(description="Of `due`, those signed.")
    fulfilment_rate: float | None = Field(description="`fulfilled` / `due`.")
    signed: int = Field(description="Orders signed in the window.")
    on_time: int = Field(description="Of `signed`, those signed at or before the promise.")
    on_time_rate: float | None = Field(description="`on_time` / `signed`.")
    delivery_minutes_avg: float | None = Field(description="Paid to signed, mean, of `signed`.")
    delivery_minutes_p90: float | None = Field(
        description="Paid to signed, 90th percentile (nearest rank)."
    )
    out_of_stock: int = Field(description="Of `orders`, those that ran out of stock.")
    damaged: int = Field(description="Of `orders`, those that went to a claim (damaged goods).")
    returned: int = Field(description="Of `orders`, those the customer refused (return).")
    lost: int = Field(description="Of `orders`, those with any of the three.")
    loss_rate: float | None = Field(description="`lost` / `orders`.")
    exceptions: int = Field(description="Of `orders`, those that went through EXCEPTION.")
    exception_rate: float | None = Field(description="`exceptions` / `orders`.")
    online_minutes: float | None = Field(
        description="Rider time online in the window (None "
        "under a channel filter: riders serve every channel)."
    )
    delivering_minutes: float | None = Field(
        description="Of it, time carrying orders (delivering, exception, returning)."
    )
    rider_utilisation: float | None = Field(description="`delivering_minutes` / `online_minutes`.")


class KpiWindow(Response):
    """The window and filter a KPI answer covers. `end` is never later than the server's now."""

    start: datetime
    end: datetime
    channel: Channel | None = None
    warehouse_id: str | None = None
    zone: str | None = None


class ChannelKpis(Response):
    channel: Channel
    figures: KpiFigures


class SensorKpis(Response):
    """What the sensors read in the window: box readings of the orders in scope, and vehicle
    readings when the question is not narrowed. None where there was no reading."""

    celsius_readings: int
    celsius_min: float | None
    celsius_avg: float | None
    celsius_max: float | None
    humidity_readings: int = Field(description="Readings of relative humidity (%).")
    humidity_min: float | None
    humidity_avg: float | None
    humidity_max: float | None


class ComplaintRate(Response):
    """Complaints about one channel's, warehouse's or category's orders per 100 delivered."""

    key: str = Field(description="The channel, the warehouse id or the category.")
    complaints: int = Field(description="Complaints opened in the window.")
    delivered: int = Field(description="Orders signed in the window (for a category: all of them).")
    per_100_delivered: float | None = Field(description="100 x `complaints` / `delivered`.")


class ComplaintKpis(Response):
    """The complaint KPI (seed 000: complaints -35 %): complaints opened in the window per 100
    orders delivered (signed) in it, in total and by channel, warehouse and category."""

    complaints: int = Field(description="Complaints opened in the window.")
    resolved: int = Field(description="Of them, those resolved by now.")
    delivered: int = Field(description="Orders signed in the window.")
    per_100_delivered: float | None = Field(description="100 x `complaints` / `delivered`.")
    previous_per_100_delivered: float | None = Field(
        description="The same for the window of the same length just before."
    )
    by_channel: list[ComplaintRate]
    by_warehouse: list[ComplaintRate]
    by_category: list[ComplaintRate]


class KpiSummary(Response):
    """Answer of `GET /api/v1/kpi/summary`, and what the `kpi` stream topic pushes."""

    window: KpiWindow
    current: KpiFigures
    previous: KpiFigures = Field(description="The window of the same length just before.")
    by_channel: list[ChannelKpis] = Field(description="`current`, per channel that had orders.")
    computed_at: datetime = Field(description="The server's clock when it was computed.")
    sensors: SensorKpis | None = Field(
        default=None, description="Temperature and humidity read in the window."
    )
    complaints: ComplaintKpis | None = Field(
        default=None, description="Complaints per 100 delivered orders (docs/complaints.md)."
    )


class KpiBucket(Response):
    """One bucket of a KPI time series (its cohorts as in `KpiFigures`)."""

    start: datetime
    figures: KpiFigures
    orders_by_channel: dict[str, int] = Field(description="Orders created, per channel.")


class KpiSeries(Response):
    """Answer of `GET /api/v1/kpi/series`: buckets from the window's start, oldest first."""

    window: KpiWindow
    bucket_minutes: int
    buckets: list[KpiBucket]


class ExceptionCount(Response):
    """How often orders entered a trouble state for one reason in the window."""

    state: OrderState
    reason: str = Field(description="As given by whoever reported it; empty when none was.")
    count: int
    sku: str | None = Field(
        default=None,
        description="The catalogue item the reason starts with (`VEG-SPINACH: wilted`), if any.",
    )
    sku_name: str | None = Field(default=None, description="That item's name (`Spinach`).")


class KpiExceptions(Response):
    """Answer of `GET /api/v1/kpi/exceptions`: trouble by state and reason, most frequent first
    (from the event log; the alert engine's rules will join here)."""

    window: KpiWindow
    by_state: dict[str, int]
    by_reason: list[ExceptionCount]


class LedgerLine(Response):
    """A count of orders and their value."""

    orders: int = 0
    amount_cents: int = 0


class ChannelLedger(Response):
    """One channel's day in the KPI ledger: what it sent against what we recorded, and how
    those orders ended (the gateway's own reconciliation: `ChannelReconciliation`)."""

    channel: Channel
    sent: LedgerLine = Field(description="What the channel sent us.")
    sent_source: Literal["intake", "statement"] = Field(
        description="`intake`: the orders its own account created through POST /orders; "
        "`statement`: the channel's own report of the day."
    )
    recorded: LedgerLine = Field(description="Our orders for the channel created that day.")
    difference: LedgerLine = Field(description="`recorded` - `sent`.")
    matches: bool
    only_recorded: list[str] = Field(
        description="Channel order ids we hold that it did not send (up to 50)."
    )
    only_sent: list[str] = Field(
        description="Channel order ids it sent that we do not hold (up to 50)."
    )
    paid: LedgerLine
    signed: LedgerLine
    cancelled: LedgerLine
    returned: LedgerLine
    claimed: LedgerLine = Field(description="Settled or open damage claims.")
    open: LedgerLine = Field(description="Not yet in a final state.")


class ReconciliationReport(Response):
    """Answer of `GET /api/v1/kpi/reconciliation`: one day, per channel."""

    day: date
    tz: str
    start: datetime
    end: datetime
    channels: list[ChannelLedger]
    sent: LedgerLine
    recorded: LedgerLine
    matches: bool
