"""Warehouses, the SKU catalogue and stock per warehouse."""
