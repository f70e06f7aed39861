"""Proof of delivery: photos, signatures and the customer's PIN, stored and cited."""
