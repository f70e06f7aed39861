"""What leaves Freshline: the pieces webhooks and customer notifications share."""
