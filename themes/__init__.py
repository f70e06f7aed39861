"""Freshline console themes (filled in by the console issues)."""
