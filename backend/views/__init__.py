"""Saved views: each desk account's named boards, kept on the server (docs/views.md)."""
