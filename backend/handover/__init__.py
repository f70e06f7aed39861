"""The shift handover digest: what the next shift must know, from the event log since the
shift began (docs/handover.md)."""
