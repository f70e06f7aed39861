"""Restock suggestions: a forecast of each SKU's demand by hour of day and weekday, sized by a
lead time and a service level, and the merchants' decisions on them (docs/restock.md)."""
