"""The event log and the live stream: appending events (the outbox), the feed that follows the
log, the bus between instances, and the hub that serves each console over WebSocket or long
poll."""
