"""Customer notifications: rules that decide, an outbox of what to send, notifiers that send."""
