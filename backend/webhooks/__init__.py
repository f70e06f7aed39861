"""Outbound webhooks: subscriptions that follow the event log and post each matching event,
signed, in `seq` order, at least once (docs/webhooks.md)."""
