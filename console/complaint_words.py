"""The complaint KPI in a line for the KPI screen: `Complaints: 1.7 per 100 delivered (5 of
300; before 2.1, down) · late 2, quality 1 · most: meituan 2.5, WH-CY 2.0`. Without colour the
trend reads through its words (`up`, `down`); `!!` marks a rate that went up."""

from __future__ import annotations

from rich.text import Text

from backend_client.models import ComplaintKpis, ComplaintRate


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _worst(rates: list[ComplaintRate]) -> ComplaintRate | None:
    rated = [r for r in rates if r.per_100_delivered is not None and r.complaints]
    return max(rated, key=lambda r: r.per_100_delivered or 0.0) if rated else None


def kpi_complaint_line(complaints: ComplaintKpis) -> Text:
    """The window's complaints per 100 delivered against the window before, the categories
    most complained about, and the worst channel and warehouse."""
    text = Text("Complaints: ", style="bold")
    now, before = complaints.per_100_delivered, complaints.previous_per_100_delivered
    text.append(f"{_rate(now)} per 100 delivered")
    text.append(f" ({complaints.complaints} of {complaints.delivered}", style="dim")
    if now is not None and before is not None and now != before:
        if now > before:
            text.append("; ")
            text.append(f"!! up from {_rate(before)}", style="bold")
        else:
            text.append(f"; down from {_rate(before)}")
    elif before is not None:
        text.append(f"; before {_rate(before)}")
    text.append(")", style="dim")
    if complaints.complaints:
        open_ = complaints.complaints - complaints.resolved
        text.append(f" · {open_} open")
        top = sorted(complaints.by_category, key=lambda r: (-r.complaints, r.key))[:3]
        words = ", ".join(f"{r.key.replace('_', ' ')} {r.complaints}" for r in top)
        text.append(f" · {words}")
        worst = [w for w in (_worst(complaints.by_channel), _worst(complaints.by_warehouse)) if w]
        if worst:
            text.append(
                " · most: " + ", ".join(f"{w.key} {_rate(w.per_100_delivered)}" for w in worst)
            )
    return text
