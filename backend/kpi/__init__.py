"""KPIs for supervisors, computed from the order rows and the event log with SQL (no second
source of truth): the figures, their time series, the trouble breakdown, the daily per-channel
reconciliation, and the summary pushed on the stream's `kpi` topic."""
