"""Orders: the lifecycle state machine, its service and its routes."""
