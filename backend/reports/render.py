"""The day report as a file: Markdown (to read or paste), CSV (one tidy long table: a row per
figure) or PDF (to send on). All three are drawn from the same sections (`sections`), so they
cannot disagree with each other or with the JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from backend.kpi.tables import INT, LEDGER_LINES, LEDGER_LINES_AFTER, TEXT, Table, cell
from backend_client.models import DayReport, KpiFigures

REPORT_FIGURES = (
    "orders",
    "amount_cents",
    "due",
    "fulfilled",
    "fulfilment_rate",
    "signed",
    "on_time",
    "on_time_rate",
    "delivery_minutes_avg",
    "delivery_minutes_p90",
    "lost",
    "loss_rate",
    "exceptions",
    "rider_utilisation",
)
"""The KPI figures a printed report shows (CSV and JSON carry every one)."""


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the report: a title, column names and rows of raw values."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


RECONCILIATION_COLUMNS = (
    "channel",
    "source",
    "sent",
    "recorded",
    "difference",
    "sent_cents",
    "recorded_cents",
    "matches",
    "signed",
    "cancelled",
    "returned",
    "claimed",
)


def sections(report: DayReport) -> list[Section]:
    kpis = Section(
        "KPIs per warehouse and channel",
        ("warehouse", "channel", *REPORT_FIGURES),
        [
            (
                line.warehouse_id or "all",
                line.channel or "all",
                *(getattr(line.figures, name) for name in REPORT_FIGURES),
            )
            for line in report.kpis
        ],
    )
    rules = Section(
        "Alerts by rule",
        (
            "rule",
            "opened",
            "acknowledged",
            "resolved",
            "ack_min_avg",
            "ack_min_max",
            "resolve_min_avg",
            "resolve_min_max",
        ),
        [
            (
                a.rule,
                a.opened,
                a.acknowledged,
                a.resolved,
                a.acknowledge_minutes_avg,
                a.acknowledge_minutes_max,
                a.resolve_minutes_avg,
                a.resolve_minutes_max,
            )
            for a in report.alerts_by_rule
        ],
    )
    desks = Section(
        "Alerts by desk (who acknowledged)",
        ("rule", "user", "role", "acknowledged", "ack_min_avg", "resolved", "resolve_min_avg"),
        [
            (
                d.rule,
                d.user,
                d.role,
                d.acknowledged,
                d.acknowledge_minutes_avg,
                d.resolved,
                d.resolve_minutes_avg,
            )
            for d in report.alerts_by_desk
        ],
    )
    claims = Section(
        "Claims paid",
        ("warehouse", "channel", "claims", "amount_cents"),
        [(c.warehouse_id, c.channel, c.claims, c.amount_cents) for c in report.claims_paid]
        + [("all", "all", report.claims_paid_total.orders, report.claims_paid_total.amount_cents)],
    )
    riders = Section(
        "Riders on time",
        ("rider_id", "name", "signed", "on_time", "on_time_rate", "delivery_minutes_avg"),
        [
            (r.rider_id, r.name, r.signed, r.on_time, r.on_time_rate, r.delivery_minutes_avg)
            for r in report.riders
        ],
    )
    found = [kpis, rules, desks, claims, riders]
    if report.reconciliation is not None:
        found.append(
            Section(
                "Channel reconciliation",
                RECONCILIATION_COLUMNS,
                [
                    (
                        c.channel,
                        c.sent_source,
                        c.sent.orders,
                        c.recorded.orders,
                        c.difference.orders,
                        c.sent.amount_cents,
                        c.recorded.amount_cents,
                        c.matches,
                        c.signed.orders,
                        c.cancelled.orders,
                        c.returned.orders,
                        c.claimed.orders,
                    )
                    for c in report.reconciliation.channels
                ],
            )
        )
    return found


def title(report: DayReport) -> str:
    where = f"warehouse {report.warehouse_id}" if report.warehouse_id else "every warehouse"
    still = "" if report.complete else " (day still running)"
    return f"Freshline day report {report.day.isoformat()} ({report.tz}), {where}{still}"


def shown(value: Any) -> str:
    """A value as printed: rates and minutes to two places, nothing for null."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return cell(value)


def markdown(report: DayReport) -> str:
    lines = [f"# {title(report)}", ""]
    lines.append(
        f"From {report.start.isoformat()} to {report.end.isoformat()} (UTC); "
        f"computed at {report.computed_at.isoformat()}."
    )
    for section in sections(report):
        lines += ["", f"## {section.title}", ""]
        if not section.rows:
            lines.append("None.")
            continue
        lines.append("| " + " | ".join(section.columns) + " |")
        lines.append("|" + "|".join("---" for _ in section.columns) + "|")
        for row in section.rows:
            cells = (shown(value).replace("|", "\\|") for value in row)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


LONG_COLUMNS = [
    ("day", TEXT),
    ("section", TEXT),
    ("warehouse_id", TEXT),
    ("channel", TEXT),
    ("rule", TEXT),
    ("user", TEXT),
    ("role", TEXT),
    ("rider_id", INT),
    ("rider_name", TEXT),
    ("metric", TEXT),
    ("value", TEXT),
]


def long_table(report: DayReport) -> Table:
    """Every figure of the report as one row: where it belongs (section and keys), `metric`
    and `value` (empty for a figure with no value, such as a rate over nothing)."""
    table = Table(list(LONG_COLUMNS))
    for keys, figures in _rows(report):
        for metric, value in figures.items():
            table.add({"day": report.day.isoformat(), **keys, "metric": metric, "value": value})
    return table


def _kpi_values(figures: KpiFigures) -> dict[str, Any]:
    return figures.model_dump(mode="python")


def _rows(report: DayReport) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    keys: dict[str, Any]
    for line in report.kpis:
        keys = {
            "section": "kpi",
            "warehouse_id": line.warehouse_id or "all",
            "channel": line.channel or "all",
        }
        yield keys, _kpi_values(line.figures)
    for a in report.alerts_by_rule:
        yield {"section": "alerts_by_rule", "rule": a.rule}, a.model_dump(exclude={"rule"})
    for d in report.alerts_by_desk:
        keys = {"section": "alerts_by_desk", "rule": d.rule, "user": d.user, "role": d.role}
        yield keys, d.model_dump(exclude={"rule", "user", "role"})
    for c in report.claims_paid:
        keys = {"section": "claims_paid", "warehouse_id": c.warehouse_id, "channel": c.channel}
        yield keys, {"claims": c.claims, "amount_cents": c.amount_cents}
    total = report.claims_paid_total
    yield (
        {"section": "claims_paid", "warehouse_id": "all", "channel": "all"},
        {"claims": total.orders, "amount_cents": total.amount_cents},
    )
    for r in report.riders:
        keys = {"section": "riders", "rider_id": r.rider_id, "rider_name": r.name}
        yield keys, r.model_dump(exclude={"rider_id", "name"})
    if report.reconciliation is not None:
        for ledger in report.reconciliation.channels:
            values: dict[str, Any] = {"matches": ledger.matches}
            for name in LEDGER_LINES + LEDGER_LINES_AFTER:
                line = getattr(ledger, name)
                values[f"{name}_orders"] = line.orders
                values[f"{name}_amount_cents"] = line.amount_cents
            yield {"section": "reconciliation", "channel": ledger.channel}, values


def csv_bytes(report: DayReport) -> bytes:
    table = long_table(report)
    for row in table.rows:
        row["value"] = cell(row["value"])
    return table.to_csv()
