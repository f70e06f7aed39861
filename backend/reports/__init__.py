"""The day report: a business day's KPIs, alerts, claims, riders and reconciliation, as JSON,
Markdown, CSV or PDF (docs/reports.md)."""
