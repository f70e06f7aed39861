"""Freshline backend: the FastAPI service that owns orders, riders, stock and the event log."""
