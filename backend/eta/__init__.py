"""The learned ETA and delay risk (docs/eta.md)."""
