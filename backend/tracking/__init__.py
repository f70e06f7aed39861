"""The customer's tracking link: a token per order, the customer-safe view it opens, its live
socket, the page served at `/t/{token}`, and the customer's signature (docs/tracking.md)."""
