"""Choosing riders for orders: the ranking, auto-dispatch and its periodic sweep."""
