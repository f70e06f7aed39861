"""Freshline console widgets (filled in by the console issues)."""
