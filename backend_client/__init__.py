"""Typed client for the Freshline backend. Never imports textual or rich."""
