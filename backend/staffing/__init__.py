"""Shifts and staffing: rider rosters, the orders forecast per zone, the understaffed alert."""
