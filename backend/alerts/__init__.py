"""Alerts: rules that watch orders and riders, and the alert lifecycle the desk works."""
