"""The archive's storage and its readers: the ledger tables, the Parquet day partitions, and
the tiered reads that put archived rows back beside the hot ones for the KPIs, timelines and
tracks. Moving data there is `backend/archive/`'s job."""
