"""Freshline console screens (filled in by the console issues)."""
