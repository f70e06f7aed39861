"""Sales channels: the gateway that takes every channel's own orders and callbacks, signed,
and turns them into one order model; and the daily reconciliation per channel."""
