"""The event log (outbox) and, later, the bus and the WebSocket hub."""
