"""The shift handover digest as Markdown: readable as plain text in a terminal, pasted into a
chat, and drawn by the console's handover screen. Times on the business clock.

Pure Python (no Textual): `freshline handover` prints what this says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend_client.models import (
    HandoverAlert,
    HandoverDigest,
    KpiFigures,
)
from console.alert_words import money, plural

_MARKUP = re.compile(r"([\\`*_\[\]|<>#])")


def text(value: str) -> str:
    """Someone's words (a title, a note, a reason) on one line, with Markdown's marks escaped:
    a note cannot turn into a heading, a link or a table column."""
    return _MARKUP.sub(r"\\\1", " ".join(value.split()))


def business_zone(digest: HandoverDigest) -> tzinfo | None:
    try:
        return ZoneInfo(digest.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # an older or odd server: the machine's own zone


def _at(moment: datetime, zone: tzinfo | None) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def _span(start: datetime, end: datetime, zone: tzinfo | None) -> str:
    """`Sun 22 Nov 14:00 to 18:47`, the day again only when the span crosses midnight."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    tail = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%a %d %b %H:%M}"
    return f"{first:%a %d %b %H:%M} to {tail}"


def _critical(alert: HandoverAlert, zone: tzinfo | None) -> str:
    if alert.acknowledged_by:
        taken = f"acknowledged by **{text(alert.acknowledged_by)}**"
        if alert.acknowledged_at:
            taken += f" at {_at(alert.acknowledged_at, zone)}"
        if alert.note:
            taken += f": “{text(alert.note)}”"
    else:
        taken = "**nobody has taken it**"
    state = " (snoozed)" if alert.state == "snoozed" else ""
    return (
        f"- !! **{text(alert.title)}**{state}, {alert.rule} since {_at(alert.opened_at, zone)}; "
        f"{taken}"
    )


def _warning(alert: HandoverAlert, zone: tzinfo | None) -> str:
    who = f", {text(alert.acknowledged_by)} has it" if alert.acknowledged_by else ""
    return f"- {text(alert.title)} (since {_at(alert.opened_at, zone)}{who})"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} min"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


Figure = Callable[[KpiFigures], float | None]
Written = Callable[[float | None], str]
KPI_ROWS: tuple[tuple[str, Figure, Written], ...] = (
    ("orders", lambda f: f.orders, _count),
    ("signed", lambda f: f.signed, _count),
    ("on time", lambda f: f.on_time_rate, _percent),
    ("delivery minutes, average", lambda f: f.delivery_minutes_avg, _minutes),
    ("delivery minutes, p90", lambda f: f.delivery_minutes_p90, _minutes),
    ("fulfilment", lambda f: f.fulfilment_rate, _percent),
    ("exceptions", lambda f: f.exception_rate, _percent),
    ("losses", lambda f: f.loss_rate, _percent),
)
"""The KPIs a handover compares: label, figure, how it is written."""


def _change(now: float | None, before: float | None, shown: Written) -> str:
    if now is None or before is None:
        return ""
    if shown is _percent:
        return f"{(now - before) * 100:+.1f} pts"
    if shown is _minutes:
        return f"{now - before:+.1f} min"
    return f"{now - before:+g}"


def _kpi_table(digest: HandoverDigest) -> Iterable[str]:
    yield "| KPI | this shift | shift before | change |"
    yield "|---|---:|---:|---:|"
    this, before = digest.kpis.this_shift, digest.kpis.previous_shift
    for label, figure, shown in KPI_ROWS:
        now, then = figure(this), figure(before)
        yield f"| {label} | {shown(now)} | {shown(then)} | {_change(now, then, shown)} |"


def markdown(digest: HandoverDigest) -> str:
    """The whole digest, most urgent first."""
    zone = business_zone(digest)
    lines = [f"# Shift handover: {_span(digest.start, digest.end, zone)} ({digest.time_zone})", ""]
    lines += [
        f"{plural(digest.alerts_opened, 'alert')} opened and {digest.alerts_resolved} resolved "
        f"this shift; {plural(len(digest.critical_alerts), 'critical')} and "
        f"{plural(len(digest.warning_alerts), 'warning')} still standing.",
        "",
        f"## Open critical alerts ({len(digest.critical_alerts)})",
        "",
    ]
    # The ones nobody has taken first: they are what the next shift picks up at once.
    critical = sorted(digest.critical_alerts, key=lambda a: a.acknowledged_by is not None)
    lines += [_critical(a, zone) for a in critical] or ["None."]
    lines += ["", f"## Warnings ({len(digest.warning_alerts)})", ""]
    lines += [_warning(a, zone) for a in digest.warning_alerts] or ["None."]

    lines += ["", f"## Acknowledged this shift ({len(digest.acknowledgements)})", ""]
    lines += [
        f"- {_at(a.at, zone)} **{text(a.by)}** ({a.role}): {text(a.title)} [{a.severity}]"
        + (f": “{text(a.note)}”" if a.note else "")
        + ("" if a.state_now == "acknowledged" else f"; now {a.state_now}")
        for a in digest.acknowledgements
    ] or ["Nobody acknowledged an alert."]

    lines += ["", f"## Returns and claims waiting for a decision ({len(digest.waiting_requests)})"]
    lines += [""]
    lines += [
        f"- {r.kind} #{r.id}, order {r.order_id} ({r.warehouse_id})"
        + (f", {money(r.amount_cents)}" if r.amount_cents else "")
        + f", opened by {text(r.opened_by)} at {_at(r.opened_at, zone)}: {text(r.reason)}"
        for r in digest.waiting_requests
    ] or ["None waiting."]

    lines += ["", f"## Riders still out ({len(digest.riders_out)})", ""]
    lines += [
        f"- **{text(r.name)}** (rider {r.id}, {r.warehouse_id}, {r.status}): carrying "
        f"{'order' if len(r.order_ids) == 1 else 'orders'} {', '.join(map(str, r.order_ids))}"
        + (f", **{r.late_orders} late**" if r.late_orders else "")
        for r in digest.riders_out
    ] or ["Every rider is back."]

    in_flight = sum(digest.in_flight_by_state.values())
    states = ", ".join(f"{state} {n}" for state, n in digest.in_flight_by_state.items())
    lines += ["", f"## Orders in flight ({in_flight}), late ({digest.late_total})", ""]
    lines += [f"By state: {states}." if states else "No order in flight."]
    if digest.late_orders:
        shown = len(digest.late_orders)
        total = digest.late_total
        more = f" (the {shown} most overdue of {total})" if shown < total else ""
        lines += ["", f"Late{more}:", ""]
        lines += ["| order | state | warehouse | zone | rider | promised | late by |"]
        lines += ["|---:|---|---|---|---:|---|---:|"]
        lines += [
            f"| {o.id} | {o.status} | {o.warehouse_id} | {text(o.zone)} | "
            f"{o.rider_id if o.rider_id is not None else '-'} | {_at(o.promised_at, zone)} | "
            f"{o.late_minutes:.0f} min |"
            for o in digest.late_orders
        ]

    lines += [
        "",
        "## KPIs against the shift before",
        "",
        f"This shift {_span(digest.start, digest.end, zone)}; "
        f"the one before {_span(digest.previous_start, digest.start, zone)}.",
        "",
        *_kpi_table(digest),
    ]
    return "\n".join(lines) + "\n"
