"""Data tiers: closed orders and old rider fixes moved from the database to Parquet partitions
by day, read back by the KPIs, timelines and tracks, and dropped after their retention."""
