"""Accounts, roles, bearer tokens and the permission table."""
