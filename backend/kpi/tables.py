"""KPI answers as tidy tables: one row per observation, one column per variable, nested figures
flattened into plain columns (`docs/reports.md` lists them), written as CSV or Parquet.

A table carries its own column types, so a Parquet file has the same schema whether or not a
column holds a value today (an empty day still opens with typed, all-null columns), and the CSV
writer knows how to spell each cell (times in ISO 8601 UTC, empty for null).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from backend_client.models import (
    Channel,
    KpiExceptions,
    KpiFigures,
    KpiSeries,
    KpiSummary,
    KpiWindow,
    LedgerLine,
    ReconciliationReport,
    SensorKpis,
)


class ExportFormat(StrEnum):
    """What a KPI view answers in: JSON (the default), CSV or Parquet."""

    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


CSV_TYPE = "text/csv; charset=utf-8"
PARQUET_TYPE = "application/vnd.apache.parquet"  # registered with IANA in 2024

INT = pa.int64()
FLOAT = pa.float64()
TEXT = pa.string()
FLAG = pa.bool_()
MOMENT = pa.timestamp("us", tz="UTC")
DAY = pa.date32()


@dataclass(slots=True)
class Table:
    """Rows under typed columns; a row may leave a column out (null)."""

    columns: list[tuple[str, pa.DataType]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def add(self, row: Mapping[str, Any]) -> None:
        unknown = set(row) - set(self.names)
        if unknown:  # a programming error, never the caller's input
            raise KeyError(f"columns not in the table: {sorted(unknown)}")
        self.rows.append(dict(row))

    def to_csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.names)
        for row in self.rows:
            writer.writerow([cell(row.get(name)) for name in self.names])
        return out.getvalue().encode("utf-8")

    def to_arrow(self) -> pa.Table:
        schema = pa.schema(self.columns)
        return pa.Table.from_pylist(
            [{name: row.get(name) for name in self.names} for row in self.rows], schema=schema
        )

    def to_parquet(self) -> bytes:
        sink = io.BytesIO()
        pq.write_table(self.to_arrow(), sink, compression="zstd")
        return sink.getvalue()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # every digit: a reader gets back the number the JSON carries
    return str(value)


# --- the figures every view shares -------------------------------------------------------------


def _figure_type(name: str) -> pa.DataType:
    annotation = KpiFigures.model_fields[name].annotation
    return INT if annotation is int else FLOAT


FIGURE_COLUMNS: list[tuple[str, pa.DataType]] = [
    (name, _figure_type(name)) for name in KpiFigures.model_fields
]
"""Every field of `KpiFigures`, in its order: counts as integers, rates and minutes as floats."""

WINDOW_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("window_start", MOMENT),
    ("window_end", MOMENT),
    ("filter_channel", TEXT),
    ("filter_warehouse_id", TEXT),
    ("filter_zone", TEXT),
]
SENSOR_COLUMNS: list[tuple[str, pa.DataType]] = [
    (name, INT if name.endswith("_readings") else FLOAT) for name in SensorKpis.model_fields
]
ALL = "all"
"""The `channel` of a row that totals every channel."""


def figures_of(figures: KpiFigures) -> dict[str, Any]:
    return figures.model_dump(mode="python")


def window_of(window: KpiWindow) -> dict[str, Any]:
    return {
        "window_start": window.start,
        "window_end": window.end,
        "filter_channel": window.channel,
        "filter_warehouse_id": window.warehouse_id,
        "filter_zone": window.zone,
    }


# --- one flattener per view --------------------------------------------------------------------


def summary_table(summary: KpiSummary) -> Table:
    """Rows: the window's total (`period` current, `channel` all), each channel's figures, and
    the previous window's total; the sensor columns are filled on the current total only (the
    readings are not per channel)."""
    table = Table(
        [("period", TEXT), ("channel", TEXT), *WINDOW_COLUMNS, *FIGURE_COLUMNS, *SENSOR_COLUMNS]
    )
    window = window_of(summary.window)
    sensors = summary.sensors.model_dump(mode="python") if summary.sensors else {}
    table.add({"period": "current", "channel": ALL, **window, **figures_of(summary.current)})
    table.rows[-1].update(sensors)
    for line in summary.by_channel:
        table.add(
            {"period": "current", "channel": line.channel, **window, **figures_of(line.figures)}
        )
    previous = {
        **window,
        "window_start": summary.window.start - (summary.window.end - summary.window.start),
        "window_end": summary.window.start,
    }
    table.add({"period": "previous", "channel": ALL, **previous, **figures_of(summary.previous)})
    return table


CHANNEL_ORDER_COLUMNS = [(f"orders_{channel}", INT) for channel in Channel]


def series_table(series: KpiSeries) -> Table:
    """One row per bucket (empty buckets too, at zero), with orders per channel as columns
    `orders_<channel>` (every channel, so the schema does not change with the day)."""
    table = Table(
        [
            ("bucket_start", MOMENT),
            ("bucket_minutes", INT),
            *WINDOW_COLUMNS,
            *FIGURE_COLUMNS,
            *CHANNEL_ORDER_COLUMNS,
        ]
    )
    window = window_of(series.window)
    for bucket in series.buckets:
        by_channel = {
            f"orders_{channel}": bucket.orders_by_channel.get(channel, 0) for channel in Channel
        }
        table.add(
            {
                "bucket_start": bucket.start,
                "bucket_minutes": series.bucket_minutes,
                **window,
                **figures_of(bucket.figures),
                **by_channel,
            }
        )
    return table


def exceptions_table(trouble: KpiExceptions) -> Table:
    """Rows of two kinds, told apart by `breakdown`: `state` (how many orders reached each
    trouble state) and `reason` (per state and reason as given, with the item it names)."""
    table = Table(
        [
            ("breakdown", TEXT),
            *WINDOW_COLUMNS,
            ("state", TEXT),
            ("reason", TEXT),
            ("sku", TEXT),
            ("sku_name", TEXT),
            ("count", INT),
        ]
    )
    window = window_of(trouble.window)
    for state, count in trouble.by_state.items():
        table.add({"breakdown": "state", **window, "state": state, "count": count})
    for line in trouble.by_reason:
        table.add(
            {
                "breakdown": "reason",
                **window,
                "state": line.state,
                "reason": line.reason,
                "sku": line.sku,
                "sku_name": line.sku_name,
                "count": line.count,
            }
        )
    return table


LEDGER_LINES = ("sent", "recorded", "difference", "paid", "signed", "cancelled", "returned")
LEDGER_LINES_AFTER = ("claimed", "open")


def _ledger_columns(names: Iterable[str]) -> list[tuple[str, pa.DataType]]:
    return [(f"{name}_{part}", INT) for name in names for part in LedgerLine.model_fields]


def _ledger(name: str, line: LedgerLine) -> dict[str, Any]:
    return {f"{name}_{part}": value for part, value in line.model_dump().items()}


def reconciliation_table(report: ReconciliationReport) -> Table:
    """One row per channel: each ledger line as `<line>_orders` and `<line>_amount_cents`; the
    unmatched channel order ids joined with spaces (they never contain one)."""
    table = Table(
        [
            ("day", DAY),
            ("tz", TEXT),
            ("start", MOMENT),
            ("end", MOMENT),
            ("channel", TEXT),
            ("sent_source", TEXT),
            ("matches", FLAG),
            *_ledger_columns(LEDGER_LINES),
            *_ledger_columns(LEDGER_LINES_AFTER),
            ("only_recorded", TEXT),
            ("only_sent", TEXT),
        ]
    )
    day = {"day": report.day, "tz": report.tz, "start": report.start, "end": report.end}
    for ledger in report.channels:
        row: dict[str, Any] = {
            **day,
            "channel": ledger.channel,
            "sent_source": ledger.sent_source,
            "matches": ledger.matches,
            "only_recorded": " ".join(ledger.only_recorded),
            "only_sent": " ".join(ledger.only_sent),
        }
        for name in (*LEDGER_LINES, *LEDGER_LINES_AFTER):
            row.update(_ledger(name, getattr(ledger, name)))
        table.add(row)
    return table


def encoded(table: Table, format: ExportFormat) -> tuple[bytes, str, str]:
    """The table's bytes, content type and file extension."""
    if format == ExportFormat.PARQUET:
        return table.to_parquet(), PARQUET_TYPE, "parquet"
    return table.to_csv(), CSV_TYPE, "csv"


def stamp(moment: datetime | date) -> str:
    """A moment or day as it goes in a file name: 20261122T1000Z, 2026-11-22."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return moment.isoformat()


def file_name(view: str, *moments: datetime | date) -> str:
    """A download's name without its extension: freshline-kpi-summary-20261122T1000Z-..."""
    return "-".join(["freshline", view, *(stamp(m) for m in moments)])
